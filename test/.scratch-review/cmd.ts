import { component, pipeline, z } from 'lathe';
export const say = component.command({
  name: 'say',
  outputs: { n: z.number() },
  command: ['sh', '-c', 'echo 1 > "$1"', 'sh', '{{outputs.n}}'],
});
export default pipeline({ name: 'cmd' }, () => { say({}); });
