import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import { ipFromReverseName, type Ipv4Subnet } from './ipv4.js';
import { normaliseName, VM_ZONE, type VmDnsRecords } from './records.js';

// What to do with one query, decided without I/O: answer it from the records, refuse it,
// or hand it to the upstream. The transport (server.ts) only moves bytes.

/** Short, so a VM created, renamed or deleted is seen at once by resolvers that cache. */
export const VM_TTL_SECONDS = 5;

export const Rcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NxDomain: 3,
  NotImp: 4,
  Refused: 5,
} as const;
export type Rcode = (typeof Rcode)[keyof typeof Rcode];
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
export const rcodeName = (rcode: number): string => RCODE_NAMES[rcode] ?? `RCODE${rcode}`;

const OPCODE_MASK = 0xf << 11;
const OPCODE_QUERY = 0;
const VM_SUFFIX = `.${VM_ZONE}`;

export interface QueryContext {
  records: VmDnsRecords;
  /** The VM subnet: an unknown reverse name inside it is ours to deny, not to forward. */
  subnet: Ipv4Subnet | undefined;
  /** Whether this query's source may have other names forwarded (also sets RA). */
  mayForward: boolean;
}

export type Outcome =
  | { action: 'drop'; reason: string }
  | { action: 'reply'; response: Buffer; rcode: Rcode; name: string; type: string }
  | { action: 'forward'; query: DecodedPacket; name: string; type: string };

export function decide(raw: Buffer, ctx: QueryContext): Outcome {
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(raw);
  } catch {
    return { action: 'drop', reason: 'malformed packet' };
  }
  // Never answer an answer: a response sent here (spoofed or looped) gets nothing back.
  if (query.type !== 'query') return { action: 'drop', reason: 'not a query' };
  const questions = query.questions ?? [];
  const question = questions[0];
  const reply = (rcode: Rcode, answers: Answer[] = [], authoritative = false): Outcome => ({
    action: 'reply',
    response: responseTo(query, rcode, { authoritative, recursion: ctx.mayForward, answers }),
    rcode,
    name: question?.name ?? '',
    type: question?.type ?? '',
  });
  if (((query.flags ?? 0) & OPCODE_MASK) !== OPCODE_QUERY) return reply(Rcode.NotImp);
  if (!question || questions.length !== 1) return reply(Rcode.FormErr);

  const name = normaliseName(question.name);
  const ours = name === VM_ZONE || name.endsWith(VM_SUFFIX);
  if (ours) {
    if ((question.class ?? 'IN') !== 'IN') return reply(Rcode.Refused);
    const ip = ctx.records.address(name);
    // The zone's apex exists (it holds the VMs) but has no address of its own.
    if (ip === undefined) return reply(name === VM_ZONE ? Rcode.NoError : Rcode.NxDomain, [], true);
    const answers: Answer[] = wants(question.type, 'A')
      ? [{ type: 'A', name: question.name, ttl: VM_TTL_SECONDS, data: ip }]
      : []; // AAAA, MX, …: the name exists with no such record (NODATA)
    return reply(Rcode.NoError, answers, true);
  }

  const reverseIp = ipFromReverseName(name);
  if (reverseIp !== undefined && (question.class ?? 'IN') === 'IN') {
    const fqdn = ctx.records.nameOf(reverseIp);
    if (fqdn !== undefined) {
      const answers: Answer[] = wants(question.type, 'PTR')
        ? [{ type: 'PTR', name: question.name, ttl: VM_TTL_SECONDS, data: `${fqdn}.` }]
        : [];
      return reply(Rcode.NoError, answers, true);
    }
    if (ctx.subnet?.contains(reverseIp)) return reply(Rcode.NxDomain, [], true);
  }

  if (!ctx.mayForward) return reply(Rcode.Refused);
  return { action: 'forward', query, name: question.name, type: question.type };
}

function wants(asked: string, has: 'A' | 'PTR'): boolean {
  return asked === has || asked === 'ANY';
}

/**
 * A response to `query`: its id, question, opcode, RD and CD echoed, and an EDNS record when
 * the query had one (RFC 6891: a responder that speaks EDNS says so).
 */
export function responseTo(
  query: DecodedPacket,
  rcode: Rcode,
  opts: { authoritative?: boolean; recursion?: boolean; answers?: Answer[] } = {},
): Buffer {
  const echoed =
    (query.flags ?? 0) & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED);
  const flags =
    echoed |
    rcode |
    (opts.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    (opts.recursion ? dnsPacket.RECURSION_AVAILABLE : 0);
  const edns = query.additionals?.some((a) => a.type === 'OPT') ?? false;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: opts.answers ?? [],
    additionals: edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: 1232,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  });
}
