import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BangerError, ErrorCode } from '../errors.js';
import {
  execInVm,
  SSH_FAILED,
  type ExecOptions,
  type ExecResult,
  type ExecTarget,
} from '../exec/exec.js';
import type { VmDetail } from '../protocol/vm.js';
import type { SessionInfoResult } from '../protocol/vm-sessions.js';
import { SESSION_SCRIPT, sessionError } from '../session/script.js';
import type { Banger, CallOptions } from './banger.js';
import { VmFiles } from './files.js';

/** A command's result with its output, when it was not streamed to callbacks only. */
export interface ExecOutput extends ExecResult {
  stdout: Buffer;
  stderr: Buffer;
}

/** One VM. Its methods need it running, except delete and refresh. */
export class Vm implements AsyncDisposable {
  readonly files: VmFiles;
  readonly sessions: VmSessions;
  readonly workspace: VmWorkspace;
  private target: Promise<ExecTarget> | undefined;

  constructor(
    private readonly banger: Banger,
    /** What banger said of the VM when this object was made (refresh() asks again). */
    public detail: VmDetail,
  ) {
    this.files = new VmFiles(this);
    this.sessions = new VmSessions(this, banger);
    this.workspace = new VmWorkspace(this, banger);
  }

  get name(): string {
    return this.detail.name;
  }

  get id(): string {
    return this.detail.id;
  }

  async refresh(): Promise<VmDetail> {
    this.detail = await this.banger.call('vm.show', { ref: this.id });
    return this.detail;
  }

  /**
   * Runs a command (argv, or one string for `sh -c`) without a TTY. Output streams to
   * onStdout/onStderr as it comes and is also collected in the result; the exit code is
   * the command's (128+N for signal N). An abort or timeout stops the command, not the VM.
   */
  async exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExecOutput> {
    const argv = typeof command === 'string' ? ['sh', '-c', command] : command;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const result = await execInVm(await this.sshTarget(), argv, {
      ...options,
      onStdout: (c) => {
        out.push(c);
        options.onStdout?.(c);
      },
      onStderr: (c) => {
        err.push(c);
        options.onStderr?.(c);
      },
    });
    if (result.exitCode === SSH_FAILED) this.forgetTarget();
    return { ...result, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  /** `count` copies of the running VM (memory, processes, disks), each a new VM. */
  async fork(count = 1, options: CallOptions = {}): Promise<Vm[]> {
    const r = await this.banger.call('vm.fork', { ref: this.id, count }, options);
    return r.children.map((c) => new Vm(this.banger, c));
  }

  async stop(options: CallOptions = {}): Promise<void> {
    this.forgetTarget();
    await this.banger.call('vm.stop', { ref: this.id }, options);
    await this.refresh();
  }

  async start(options: CallOptions = {}): Promise<void> {
    this.forgetTarget();
    this.detail = await this.banger.call('vm.start', { ref: this.id }, options);
  }

  /** Stops and removes the VM with its disks. */
  async delete(): Promise<void> {
    this.forgetTarget();
    await this.banger.call('vm.delete', { ref: this.id });
  }

  /** `await using vm = await banger.vms.create()`: the VM is deleted at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete().catch((err: unknown) => {
      if (!(err instanceof BangerError && err.code === ErrorCode.NotFound)) throw err;
    });
  }

  /**
   * @internal How this process reaches the VM's sshd: asked once (bangerd checks the VM
   * runs and its ssh master is up), then kept — a VM keeps its address and port across
   * restarts — until this object stops or starts it, or a command ends with ssh's 255
   * (the connection failed: the next call asks again, and says why if the VM is gone).
   */
  async sshTarget(): Promise<ExecTarget> {
    this.target ??= this.banger.call('vm.ssh', { ref: this.id });
    try {
      return await this.target;
    } catch (err) {
      this.target = undefined;
      throw err;
    }
  }

  /** @internal */
  forgetTarget(): void {
    this.target = undefined;
  }
}

export class VmSessions {
  constructor(
    private readonly vm: Vm,
    private readonly banger: Banger,
  ) {}

  /** A long-running command in tmux, kept when this process goes. */
  async start(name: string, command: readonly string[]): Promise<SessionInfoResult> {
    const r = await this.banger.call('vm.session.start', {
      ref: this.vm.id,
      name,
      command: [...command],
    });
    return r.sessions[0]!;
  }

  async list(): Promise<SessionInfoResult[]> {
    return (await this.banger.call('vm.session.list', { ref: this.vm.id })).sessions;
  }

  /** Its output so far. */
  async logs(name: string): Promise<string> {
    const r = await this.vm.exec(['sh', '-c', SESSION_SCRIPT, 'banger-session', 'logs', name]);
    if (r.exitCode !== 0)
      throw sessionError(this.vm.name, name, r.exitCode, r.stderr.toString('utf8'));
    return r.stdout.toString('utf8');
  }

  /** Types text into it, with Enter unless told otherwise. */
  async send(name: string, text: string, options: { enter?: boolean } = {}): Promise<void> {
    await this.banger.call('vm.session.send', {
      ref: this.vm.id,
      name,
      text,
      enter: options.enter ?? true,
    });
  }

  /** Ctrl-C, then SIGTERM after a grace period, then SIGKILL. */
  async stop(name: string): Promise<SessionInfoResult> {
    const r = await this.banger.call('vm.session.stop', { ref: this.vm.id, name });
    return r.sessions[0]!;
  }
}

export class VmWorkspace {
  constructor(
    private readonly vm: Vm,
    private readonly banger: Banger,
  ) {}

  /** Copies the git checkout at `path` to /root/repo (edits and untracked files included). */
  async prepare(
    path: string,
    options: CallOptions & { branch?: string; from?: string } = {},
  ): Promise<{ base: string; files: number }> {
    const { onProgress, signal, ...git } = options;
    return this.banger.call(
      'vm.workspace.prepare',
      { ref: this.vm.id, path: resolve(path), ...git },
      { onProgress, signal },
    );
  }

  /** Everything done in /root/repo since prepare, as one git patch (empty when nothing). */
  async export(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'banger-export-'));
    try {
      const out = join(dir, 'patch');
      await this.banger.call('vm.workspace.export', { ref: this.vm.id, out });
      return await readFile(out, 'utf8');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
