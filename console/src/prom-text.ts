/** Reading the Prometheus text of GET /v1/endpoints/{name}/metrics in the console. */

/** The sum of every series of `metric` (all label sets), 0 when there is none. */
export function sumOf(text: string, metric: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) total += v;
  }
  return total;
}

/** Whether the text has a series (a value line) of `metric`. */
export function hasSeries(text: string, metric: string): boolean {
  return text.split('\n').some((line) => line.startsWith(metric) && (line[metric.length] === '{' || line[metric.length] === ' '));
}
