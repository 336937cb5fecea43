// What the loader test runs: a .ts entry importing a .ts module by its .js name and a
// workspace package, printing what the test checks.
import { area, type Shape } from './dep.js';
import { isValidChannel } from '@cascade/protocol';

function outer(): () => number {
  const inner = (): number => 1;
  return inner;
}

// ES2022 class fields (useDefineForClassFields): a field declared without a value is an own
// property all the same; with TypeScript's older assignment semantics it would be absent.
class Counter {
  count = 0;
  declared?: string;
}

const shape: Shape = { side: 3 };
console.log(JSON.stringify({
  area: area(shape),
  channel: isValidChannel('chat:a'),
  innerName: outer().name,
  nameHelper: outer.toString().includes('__name'),
  fields: Object.keys(new Counter()),
}));
if (process.argv[2] === 'throw') {
  type Padding = { a: number };
  const p: Padding = { a: 1 };
  throw new Error(`thrown on purpose ${p.a}`); // line 29: the test finds it in the stack
}
