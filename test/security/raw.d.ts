/** Vite's `?raw` imports: a file's text, used to check configuration files from inside workerd. */
declare module "*?raw" {
  const text: string;
  export default text;
}
