// The ETA's arithmetic on a simulated clock: the workers' start-up does not weigh on the rate.
import t from 'tap';
import { Eta } from '../../lib/run/eta.js';
import { SIZE_CLASSES, sizeClass } from '../../lib/core/size-class.js';

t.test('two workers that take 2 s to start, then do 100 ms items: at 5 s the ETA is the work left over two workers, within 5%', async (t) => {
  const eta = new Eta();
  const items = 200;
  const todo = new Float64Array(SIZE_CLASSES);
  todo[sizeClass(1000)] = items;
  let done = 0;
  // progress samples every 250 ms from the start; items end in pairs every 100 ms from 2.1 s
  for (let now = 250; now <= 5000; now += 50) {
    if (now >= 2100 && (now - 2000) % 100 === 0) {
      eta.add(1000, 100, now);
      eta.add(1000, 100, now);
      done += 2;
    }
    if (now % 250 === 0) eta.sample(0, now);
  }
  const left = items - done;
  const truth = (left * 100) / 2 / 1000;
  const said = eta.seconds({ items: left, todoByClass: todo }, 0, 5000)!;
  t.ok(Math.abs(said - truth) <= 0.05 * truth, `said ${said.toFixed(2)} s, ${truth} s left (${done} done)`);
  t.ok(eta.seconds({ items: 0, todoByClass: todo }, 0, 5000) === 0, 'nothing left: 0');
  t.equal(new Eta().seconds({ items: 10, todoByClass: null }, 0, 5000), null, 'nothing done yet: not known');
});
