export { assertOwnProgram, ownProgramNames, ProgramRefused } from './own-program.js';
export {
  createSupervisor,
  defaultProgram,
  SUPERVISOR_KINDS,
  type Supervisor,
  SupervisorConfigError,
  type SupervisorKind,
  type SupervisorOptions,
  type SupervisorResult,
  type SupervisorSettings,
  SupervisorUnavailable,
  type SupervisorVerb,
  supervisorArgs,
  supervisorSettings,
} from './supervisor.js';
export {
  parseUnitFile,
  type UnitEntry,
  type UnitFile,
  UnitFileError,
  unitValue,
  unitValues,
} from './unit-file.js';
