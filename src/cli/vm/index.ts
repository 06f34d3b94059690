import type { Command } from 'commander';
import { examples } from '../output.js';
import { registerVmCp } from './cp.js';
import { registerVmCreate } from './create.js';
import { registerVmDelete } from './delete.js';
import { registerVmExec } from './exec.js';
import { registerVmKill } from './kill.js';
import { registerVmPause } from './pause.js';
import { registerVmFork } from './fork.js';
import { registerVmList } from './list.js';
import { registerVmLogs } from './logs.js';
import { registerVmPort } from './port/index.js';
import { registerVmPorts } from './ports.js';
import { registerVmPrune } from './prune.js';
import { registerVmRestart } from './restart.js';
import { registerVmRun } from './run.js';
import { registerVmSession } from './session/index.js';
import { registerVmSet } from './set.js';
import { registerVmShow } from './show.js';
import { registerVmSsh } from './ssh.js';
import { registerVmStart } from './start.js';
import { registerVmStats } from './stats.js';
import { registerVmStop } from './stop.js';
import { registerVmWorkspace } from './workspace/index.js';

export function registerVm(program: Command): void {
  const vm = program
    .command('vm')
    .description('Create, run and manage microVMs')
    .addHelpText(
      'after',
      `\nEach VM boots from an image onto its own copy-on-write system disk, with a work disk at\n` +
        `/root that survives stop and start. "banger vm run" is the one-step way in.\n` +
        examples([
          'banger vm run --rm -- make test',
          'banger vm run ./repo',
          'banger vm create --name ci-box && banger vm ssh ci-box -- uname -a',
          'banger vm ls',
          'banger vm rm ci-box',
        ]),
    );
  // Order is the order of `banger vm --help`: the everyday verbs first.
  registerVmRun(vm);
  registerVmCreate(vm);
  registerVmList(vm);
  registerVmShow(vm);
  registerVmSsh(vm);
  registerVmExec(vm);
  registerVmCp(vm);
  registerVmLogs(vm);
  registerVmStats(vm);
  registerVmPorts(vm);
  registerVmPort(vm);
  registerVmStart(vm);
  registerVmStop(vm);
  registerVmRestart(vm);
  registerVmPause(vm);
  registerVmFork(vm);
  registerVmKill(vm);
  registerVmSet(vm);
  registerVmDelete(vm);
  registerVmPrune(vm);
  registerVmWorkspace(vm);
  registerVmSession(vm);
}
