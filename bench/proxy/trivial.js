// The floor of any Worker proxy: forwards every request to env.UPSTREAM with the same method, path, headers and
// body, and returns the answer as it comes (bench/proxy/run.mjs). No routing, no state.
export default {
  fetch(req, env) {
    const url = new URL(req.url);
    return fetch(new Request(env.UPSTREAM + url.pathname + url.search, req));
  },
};
