/**
 * `lv-license doctor` and `lv-license status` as a library: the checks, the probe of one server, the
 * support bundle.
 */

export { LIBRARY_VERSION } from '../version.js';
export { createSupportBundle, redactConf, type SupportBundle } from './bundle.js';
export { DEFAULT_STEP_TIMEOUT, probeServer } from './probe.js';
export { runDoctor } from './run.js';
export { getServerStatus, type ServerStatus, type StatusOptions, type StatusReport } from './status.js';
export type {
  ConfigCandidate,
  DoctorFinding,
  DoctorOptions,
  DoctorReport,
  DoctorVerdict,
  FeatureCount,
  FindingStatus,
  ProbeOptions,
  ProbeTlsOptions,
  ServerProbe,
} from './types.js';
