/**
 * `lv-license doctor` and `lv-license status` as a library: the checks, the probe of one server, the
 * support bundle.
 */

export { LIBRARY_VERSION } from '../version.js';
export { createSupportBundle, redactConf, type SupportBundle } from './bundle.js';
export { DEFAULT_STEP_TIMEOUT, probeServer } from './probe.js';
export { runDoctor } from './run.js';
export { describeSettingSource } from './settings.js';
export { getServerStatus, type ServerStatus, type StatusOptions, type StatusReport } from './status.js';
export type {
  ConfigCandidate,
  ConfigSetting,
  DefaultSource,
  DoctorFinding,
  DoctorOptions,
  DoctorReport,
  DoctorVerdict,
  EnvironmentSource,
  FeatureCount,
  FileSource,
  FindingStatus,
  ProbeOptions,
  ProbeTlsOptions,
  ServerProbe,
  SettingSource,
} from './types.js';
