import { pino } from 'pino';
import { resolveLayout } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import { Daemon } from './daemon.js';
import { EXIT_ALREADY_RUNNING } from '../protocol/exit-codes.js';

const log = pino({ base: { pid: process.pid }, level: process.env.BANGER_LOG_LEVEL ?? 'info' });
const layout = resolveLayout();

try {
  const daemon = await Daemon.open({ layout, log });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => {
      log.info({ signal }, 'shutting down');
      void daemon.close();
    });
  await daemon.closed;
  process.exit(0);
} catch (err) {
  if (err instanceof BangerError) {
    log.error({ code: err.code, hint: err.hint }, err.message);
    process.stderr.write(`bangerd: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
    process.exit(err.code === ErrorCode.DaemonRunning ? EXIT_ALREADY_RUNNING : 1);
  }
  log.fatal({ err }, 'bangerd failed to start');
  process.exit(1);
}
