// banger's TypeScript SDK: `import { Banger } from 'banger'`. docs/sdk.md is the reference.
export {
  Banger,
  Vms,
  type ConnectOptions,
  type CreateOptions,
  type CallOptions,
} from './banger.js';
export { Vm, VmSessions, VmWorkspace, type ExecOutput } from './vm.js';
export { VmFiles, type FileEntry } from './files.js';
export { BangerError, ErrorCode } from '../errors.js';
export type { ExecOptions, ExecResult } from '../exec/exec.js';
export type { VmDetail, VmSummary } from '../protocol/vm.js';
export type { SessionInfoResult } from '../protocol/vm-sessions.js';
