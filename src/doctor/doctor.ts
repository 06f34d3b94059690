import { loadConfig } from '../config/load.js';
import type { Layout } from '../config/layout.js';
import { describeProvenance, resolveVmDefaults } from '../config/vm-defaults.js';
import { errorMessage } from '../errors.js';
import { detectKvm, hostFacts } from '../system/host.js';
import type { Runner } from '../system/runner.js';
import { which } from '../system/which.js';
import { selectVmm } from '../vmm/select.js';
import { detectLimits, verifyLimits } from '../limits/detect.js';
import { RECIPES } from '../image/golden/recipe.js';
import type { CheckResult } from './check.js';
import {
  checkDeviceMapper,
  checkDisk,
  checkHostLimits,
  checkKvm,
  checkNetworkModes,
  checkNode,
  checkTun,
  checkVmNames,
} from './host-checks.js';
import { checkTool, TOOLS } from './tools.js';

export interface DoctorDeps {
  layout: Layout;
  runner: Runner;
  pathEnv?: string;
  /** Root of /sys and /dev, for tests. */
  root?: string;
  /** Asks bangerd which images are local; throws when the daemon cannot be reached. */
  localImages(): Promise<string[]>;
}

export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const root = deps.root ?? '/';
  const results: CheckResult[] = [checkNode(), await checkKvm(root)];
  results.push(...(await Promise.all(TOOLS.map((t) => checkTool(t, deps.runner, deps.pathEnv)))));
  results.push(
    await checkTun(root),
    await checkNetworkModes(),
    await checkVmNames(root),
    await checkDeviceMapper(root),
    await checkDisk(deps.layout.stateDir),
  );
  results.push(...(await configChecks(deps)));
  return results;
}

async function configChecks(deps: DoctorDeps): Promise<CheckResult[]> {
  const { layout } = deps;
  let loaded;
  try {
    loaded = await loadConfig(layout.configFile);
  } catch (err) {
    return [
      {
        name: 'config',
        verdict: 'fail',
        detail: errorMessage(err),
        fix: `fix ${layout.configFile}`,
      },
    ];
  }
  const { config, exists } = loaded;
  const results: CheckResult[] = [
    {
      name: 'config',
      verdict: 'ok',
      detail: exists
        ? layout.configFile
        : `none (defaults); create ${layout.configFile} to override`,
    },
    {
      name: 'vm defaults',
      verdict: 'ok',
      detail: `${describeProvenance(resolveVmDefaults(config, hostFacts()))}; set [vm_defaults] in ${layout.configFile} to override`,
    },
  ];
  try {
    const kvm = await detectKvm(deps.root ?? '/');
    const vmm = selectVmm(
      config.vmm,
      kvm,
      which(config.vmm.firecrackerBinary ?? 'firecracker', deps.pathEnv),
    );
    results.push({
      name: 'vmm',
      verdict: 'ok',
      detail: `${vmm.driver}/${vmm.accel} (${vmm.reason})`,
    });
  } catch (err) {
    results.push({
      name: 'vmm',
      verdict: 'fail',
      detail: errorMessage(err),
      fix: `fix [vmm] in ${layout.configFile}`,
    });
  }
  results.push(
    await checkHostLimits(config.vmm.hostLimits, async () =>
      verifyLimits(await detectLimits({ root: deps.root ?? '/' }), deps.runner),
    ),
    await defaultImageCheck(deps, config.defaultImageName),
  );
  return results;
}

async function defaultImageCheck(deps: DoctorDeps, name: string): Promise<CheckResult> {
  const check = `image ${name}`;
  let local: string[];
  try {
    local = await deps.localImages();
  } catch (err) {
    return {
      name: 'bangerd',
      verdict: 'fail',
      detail: errorMessage(err),
      fix: `see ${deps.layout.daemonLog}`,
    };
  }
  if (local.includes(name)) return { name: check, verdict: 'ok', detail: 'local' };
  const recipe = RECIPES.get(name);
  if (!recipe)
    return {
      name: check,
      verdict: 'warn',
      detail: 'not local and has no build recipe: it must come from a catalog',
      fix: `"banger image pull ${name}", or set default_image_name`,
    };
  return which('mmdebstrap', deps.pathEnv)
    ? {
        name: check,
        verdict: 'ok',
        detail: `not local; buildable here ("banger image build" makes it in a few minutes)`,
      }
    : {
        name: check,
        verdict: 'fail',
        detail: 'not local, and mmdebstrap (needed to build it) is missing',
        fix: 'apt-get install mmdebstrap',
        packages: ['mmdebstrap'],
      };
}
