/**
 * The version of lv-license-client, for reports and support bundles.
 */

/** The version of this library, as published (package.json `version`). */
export const LIBRARY_VERSION = '0.1.0';
