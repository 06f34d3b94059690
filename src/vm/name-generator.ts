import { randomInt } from 'node:crypto';

// Generated VM names: adjective-noun, short enough to type, each a valid DNS label.
const ADJECTIVES = [
  'amber',
  'bold',
  'brave',
  'brisk',
  'calm',
  'clever',
  'cosy',
  'crisp',
  'dapper',
  'eager',
  'fancy',
  'fierce',
  'fleet',
  'gentle',
  'glad',
  'golden',
  'grand',
  'happy',
  'hardy',
  'jolly',
  'keen',
  'kind',
  'lively',
  'lucky',
  'merry',
  'mighty',
  'misty',
  'nimble',
  'noble',
  'plucky',
  'polite',
  'proud',
  'quick',
  'quiet',
  'rapid',
  'rustic',
  'shiny',
  'silent',
  'sleek',
  'snug',
  'solid',
  'spry',
  'steady',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'warm',
  'witty',
  'zesty',
] as const;

const NOUNS = [
  'badger',
  'beaver',
  'bison',
  'crane',
  'cricket',
  'dingo',
  'dolphin',
  'eagle',
  'falcon',
  'ferret',
  'finch',
  'fox',
  'gecko',
  'heron',
  'ibis',
  'jackal',
  'koala',
  'lemur',
  'lynx',
  'marten',
  'mole',
  'moose',
  'newt',
  'ocelot',
  'otter',
  'owl',
  'panda',
  'parrot',
  'pelican',
  'puffin',
  'quail',
  'rabbit',
  'raven',
  'robin',
  'salmon',
  'seal',
  'shrew',
  'sparrow',
  'stoat',
  'swan',
  'tapir',
  'tern',
  'toad',
  'trout',
  'turtle',
  'vole',
  'walrus',
  'weasel',
  'wren',
  'yak',
] as const;

function pick<T>(list: readonly T[]): T {
  return list[randomInt(list.length)]!;
}

/** A fresh adjective-noun name not in `taken`; a numeric suffix once the pairs run short. */
export function generateName(taken: ReadonlySet<string>): string {
  for (let attempt = 0; attempt < 50; attempt++) {
    const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}`;
    if (!taken.has(name)) return name;
  }
  for (;;) {
    const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000, 10000)}`;
    if (!taken.has(name)) return name;
  }
}

export const NAME_WORDS = { adjectives: ADJECTIVES, nouns: NOUNS };
