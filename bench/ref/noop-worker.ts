import noop from '../../lib/processors/noop.js';

export default async function run(_item: { path: string }): Promise<unknown> {
  return noop();
}
