// Python sources are imported as text and embedded into the bundle (esbuild `text` loader, Bun's `type: "text"`).
declare module "*.py" {
  const source: string;
  export default source;
}
