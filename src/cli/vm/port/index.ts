import type { Command } from 'commander';
import { examples } from '../../output.js';
import { registerVmPortAdd } from './add.js';
import { registerVmPortRm } from './rm.js';

export function registerVmPort(vm: Command): void {
  const port = vm
    .command('port')
    .description("Publish a VM's TCP port on the host's 127.0.0.1, or stop publishing it")
    .addHelpText(
      'after',
      `\nPublished ports are kept with the VM: opened whenever it runs, closed when it stops,\n` +
        `gone with it. "vm create --publish" publishes at create; "banger vm ports" shows them.\n` +
        examples([
          'banger vm port add blue-fox 3000             # 127.0.0.1:3000 → port 3000',
          'banger vm port add blue-fox 3000 --host 8080 # 127.0.0.1:8080 → port 3000',
          'banger vm port rm blue-fox 3000',
        ]),
    );
  registerVmPortAdd(port);
  registerVmPortRm(port);
}
