/**
 * Test helpers for applications that use lv-license-client.
 *
 * @packageDocumentation
 */
export { isLicenseError, LicenseError } from '../errors.js';
