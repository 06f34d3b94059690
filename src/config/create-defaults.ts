import type { Config } from './schema.js';
import { loadConfig } from './load.js';
import { resolveVmDefaults, type ResolvedVmDefaults } from './vm-defaults.js';
import { hostFacts } from '../system/host.js';

/**
 * config.toml, and the size a new VM gets for each value not given, with the layer that
 * decided it (config, auto, builtin): what the CLI and the SDK both ask bangerd for. A
 * broken config.toml is a Config error. No daemon is involved.
 */
export async function loadCreateDefaults(
  configFile: string,
): Promise<{ config: Config; defaults: ResolvedVmDefaults }> {
  const { config } = await loadConfig(configFile);
  return { config, defaults: resolveVmDefaults(config, hostFacts()) };
}
