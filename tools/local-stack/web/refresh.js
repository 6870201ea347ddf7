// Watching longer than a signed URL lives: fetch a fresh URL from signurl
// before the current one expires, and put its credential on every request
// the player makes from then on (playlists, segments, keys, blocking reloads).
// Shared by the demo page (hls.js) and the test harness pages (Shaka Player,
// video.js). Plain script: defines window.SignedHlsRefresh.
//
// signurl signs a custom policy for the movie's folder (`movies/movie_1/*`),
// so one credential covers every file of the movie: swapping the credential
// parameters of any request URL of that movie gives a valid URL. Every other
// parameter (`_HLS_msn`, `_HLS_part`, `_HLS_skip`) is kept as it is.
(() => {
  const CREDENTIAL = ["Policy", "Signature", "Key-Pair-Id", "Expires", "Hash-Algorithm"];

  const split = (url) => {
    const hash = url.indexOf("#");
    const bare = hash < 0 ? url : url.slice(0, hash);
    const mark = bare.indexOf("?");
    return mark < 0 ? [bare, []] : [bare.slice(0, mark), bare.slice(mark + 1).split("&").filter(Boolean)];
  };
  const nameOf = (pair) => decodeURIComponent(pair.split("=", 1)[0]);
  const valueOf = (pairs, name) => {
    const pair = pairs.find((p) => nameOf(p) === name);
    return pair === undefined ? null : decodeURIComponent(pair.slice(pair.indexOf("=") + 1));
  };

  // The KEY_PREFIX suffix of the credential copies (`-PREFIX`), read from
  // the URL signurl gave: the name of its second Key-Pair-Id parameter.
  const suffixOf = (pairs) => {
    const copy = pairs.map(nameOf).find((n) => n.startsWith("Key-Pair-Id") && n !== "Key-Pair-Id");
    return copy === undefined ? "" : copy.slice("Key-Pair-Id".length);
  };

  // Epoch seconds after which the URL is refused: the policy's DateLessThan
  // (CloudFront's base64 uses -_~ for +=/), or a canned policy's Expires.
  const expiryOf = (url) => {
    const [, pairs] = split(url);
    const policy = valueOf(pairs, "Policy");
    if (policy !== null) {
      const json = atob(policy.replace(/-/g, "+").replace(/_/g, "=").replace(/~/g, "/"));
      return JSON.parse(json).Statement[0].Condition.DateLessThan["AWS:EpochTime"];
    }
    const expires = valueOf(pairs, "Expires");
    return expires === null ? null : Number(expires);
  };

  // `url` with the credential parameters of `fresh` in place of its own;
  // a URL without a credential (not ours) is left alone.
  const withCredential = (url, fresh) => {
    const [, freshPairs] = split(fresh);
    const names = new Set(CREDENTIAL.flatMap((n) => [n, n + suffixOf(freshPairs)]));
    const [base, pairs] = split(url);
    if (!pairs.some((p) => names.has(nameOf(p)))) return url;
    const kept = pairs.filter((p) => !names.has(nameOf(p)));
    const credential = freshPairs.filter((p) => names.has(nameOf(p)));
    return `${base}?${[...kept, ...credential].join("&")}`;
  };

  // Keeps a current URL: `fetchUrl()` resolves to a fresh signed URL; it is
  // asked again at `fraction` of the current URL's remaining life (retried
  // every second on failure). `rewrite(url)` is what the player's request
  // hook calls.
  class Refresher {
    constructor(fetchUrl, { fraction = 0.8, onRefresh = () => {}, onError = () => {} } = {}) {
      this.fetchUrl = fetchUrl;
      this.fraction = fraction;
      this.onRefresh = onRefresh;
      this.onError = onError;
      this.current = null;
      this.timer = null;
    }

    start(url) {
      this.current = url;
      this.schedule();
    }

    stop() {
      clearTimeout(this.timer);
      this.timer = null;
    }

    schedule() {
      const expires = expiryOf(this.current);
      if (expires === null) return;
      const life = expires * 1000 - Date.now();
      this.timer = setTimeout(() => this.refresh(), Math.max(0, life * this.fraction));
    }

    async refresh() {
      try {
        const url = await this.fetchUrl();
        this.current = url;
        this.onRefresh(url);
        this.schedule();
      } catch (error) {
        this.onError(error);
        this.timer = setTimeout(() => this.refresh(), 1000);
      }
    }

    rewrite(url) {
      return this.current === null ? url : withCredential(url, this.current);
    }
  }

  window.SignedHlsRefresh = { Refresher, withCredential, expiryOf };
})();
