export default async function noop(): Promise<Record<string, never>> {
  return {};
}
