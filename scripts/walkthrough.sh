#!/usr/bin/env bash
# The operator's walkthrough (docs/walkthrough.md): against a running gateway (`npm start`), store a new release
# of the demo agent, run it as a 10 % canary, raise it to 50 %, abort it, put the agent in draft-only, and roll
# back. After each step one request to the data plane is repeated until it shows the change, and the time from
# the admin answer to the first data-plane answer that shows it is printed (the refresh interval is 1 s).
#
#   SWITCHYARD_URL    the gateway (default http://127.0.0.1:8787, what `npm start` uses)
#   SWITCHYARD_TOKEN  an admin token (default dev-admin-token, the token `npm start` configures)
#   VERSION           the new release's version (default 2026.12.01-1; the same content again is stored once)
#
# Needs bash and curl; uses jq when it is installed, else node, for JSON.
set -euo pipefail

G="${SWITCHYARD_URL:-http://127.0.0.1:8787}"
TOKEN="${SWITCHYARD_TOKEN:-dev-admin-token}"
AGENT=support-bot
NEW="${VERSION:-2026.12.01-1}"
POLL_S=0.05
DEADLINE_MS=10000
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- JSON: `get FILTER FILE` with a jq path (also valid JavaScript after `d`, e.g. .agents["x"].active) ----------
if command -v jq >/dev/null 2>&1; then
  get() { jq -r "$1" "$2"; }
  compact() { jq -c "${2:-.}" "$1"; }
else
  get() {
    node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[2],"utf8"));const v=eval("d"+process.argv[1]);
             console.log(v===undefined||v===null?"null":typeof v==="object"?JSON.stringify(v):String(v))' "$1" "$2"
  }
  compact() { get "${2:-}" "$1"; } # JavaScript paths only (no jq programs)
fi

now_ms() { date +%s%3N; }
say() { printf '\n### %s\n' "$*"; }

# --- the admin API: prints the command and the answer; the body is left in $TMP/body.json ------------------------
# `admin METHOD PATH [BODY] [SHOW]`: SHOW is a path into the answer to print (default all of it; "-" for none).
admin() {
  local method=$1 path=$2 body=${3:-} show=${4:-.} shown
  shown="curl -s -X $method '\$G/admin/v1$path' -H 'authorization: Bearer \$TOKEN'"
  local args=(-s -o "$TMP/body.json" -w '%{http_code}' -X "$method" "$G/admin/v1$path" -H "authorization: Bearer $TOKEN")
  if [[ -n $body ]]; then
    args+=(-H 'content-type: application/json' -d "$body")
    if [[ $body == @* ]]; then shown+=" -H 'content-type: application/json' -d $body"; else shown+=" -H 'content-type: application/json' -d '$body'"; fi
  fi
  printf '$ %s\n' "$shown"
  STATUS=$(curl "${args[@]}")
  ANSWERED_AT=$(now_ms)
  if [[ $show == - ]]; then printf '→ %s\n' "$STATUS"; else printf '→ %s %s\n' "$STATUS" "$(compact "$TMP/body.json" "$show")"; fi
  [[ $STATUS =~ ^2 ]] || { echo "the admin call failed" >&2; exit 1; }
}

# --- the data plane: one request, its status and decision headers in globals ------------------------------------
agent_request() { # headers as extra curl arguments
  local out
  out=$(curl -s -D "$TMP/headers.txt" -o "$TMP/agent.json" -w '%{http_code}' -X POST "$G/agents/$AGENT/chat" \
    -H 'content-type: application/json' -d '{"q":"where is my refund?"}' "$@")
  A_STATUS=$out
  A_RELEASE=$(header x-agent-release)
  A_LANE=$(header x-agent-lane)
  A_DECISION=$(header x-agent-decision)
}
header() { { grep -i "^$1:" "$TMP/headers.txt" || true; } | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# `until_shown "what" TEST [curl header args]`: repeats the request until TEST (a bash condition on A_*) holds,
# then prints the command once, the answer's decision headers, and how long after the admin answer it showed.
until_shown() {
  local what=$1 test=$2
  shift 2
  local polls=0 shown=""
  for h in "$@"; do [[ $h == -H ]] || shown+=" -H '$h'"; done
  while :; do
    agent_request "$@"
    polls=$((polls + 1))
    if eval "$test"; then break; fi
    if (($(now_ms) - ANSWERED_AT > DEADLINE_MS)); then
      echo "not shown within ${DEADLINE_MS} ms: $what (last: $A_STATUS $A_RELEASE $A_LANE $A_DECISION)" >&2
      exit 1
    fi
    sleep "$POLL_S"
  done
  local took=$(($(now_ms) - ANSWERED_AT))
  printf "\$ curl -si -X POST '\$G/agents/%s/chat'%s -d '{\"q\":\"where is my refund?\"}'\n" "$AGENT" "$shown"
  printf '→ %s  x-agent-release: %s  x-agent-lane: %s  x-agent-decision: %s\n' \
    "$A_STATUS" "$A_RELEASE" "$A_LANE" "$A_DECISION"
  printf '  body: %s\n' "$(body_summary)"
  if [[ -n ${UNTIMED:-} ]]; then return; fi
  printf '  ⇒ %s: shown %d ms after the admin answer, on request %d\n' "$what" "$took" "$polls"
  TIMINGS+=("$what: ${took} ms")
}
TIMINGS=()

# The upstream echoes what it received: show its reply and the tools it was given; anything else in full.
body_summary() {
  if command -v jq >/dev/null 2>&1; then
    jq -c 'if .reply then {reply, tools: .received.tools, instructions: .received.instructions} else . end' "$TMP/agent.json"
  else
    compact "$TMP/agent.json"
  fi
}

explain() { # key → $TMP/body.json (not printed)
  curl -s -o "$TMP/body.json" "$G/admin/v1/explain?agent=$AGENT&key=$1" -H "authorization: Bearer $TOKEN"
}

echo "Switchyard walkthrough against $G ($(date -u +%Y-%m-%dT%H:%M:%SZ)); jq: $(command -v jq >/dev/null && echo yes || echo no, using node)"

say "0. Where we start: the demo agent's pointers and overrides"
admin GET /state "" ".agents[\"$AGENT\"]"
ACTIVE=$(get ".agents[\"$AGENT\"].active" "$TMP/body.json")
printf '  active: %s, fallback: %s, canary: %s\n' "$ACTIVE" "$(get ".agents[\"$AGENT\"].fallback" "$TMP/body.json")" \
  "$(compact "$TMP/body.json" ".agents[\"$AGENT\"].canary")"
if [[ $ACTIVE == off || $ACTIVE == null ]]; then
  echo "The agent is not serving a release (an earlier walkthrough rolled it back?): run npm start on a fresh state." >&2
  exit 1
fi
UNTIMED=1 until_shown "keyless request served by the active release" '[[ $A_RELEASE == "$ACTIVE" ]]'

say "1. Store a new release $NEW (the active one with a new version, description, instructions and fallback)"
curl -s -o "$TMP/active.json" "$G/admin/v1/agents/$AGENT/releases/$ACTIVE" -H "authorization: Bearer $TOKEN"
if command -v jq >/dev/null 2>&1; then
  jq --arg v "$NEW" --arg fb "$ACTIVE" \
    '.manifest | .version = $v | .description = "walkthrough release" | .rollout.fallback = $fb
     | .instructions.system |= sub($fb; $v)' \
    "$TMP/active.json" >"$TMP/release.json"
else
  node -e 'const fs=require("fs");const m=JSON.parse(fs.readFileSync(process.argv[1],"utf8")).manifest;
           m.version=process.argv[2];m.description="walkthrough release";m.rollout.fallback=process.argv[3];
           m.instructions.system=m.instructions.system.replace(process.argv[3],process.argv[2]);
           fs.writeFileSync(process.argv[4],JSON.stringify(m))' "$TMP/active.json" "$NEW" "$ACTIVE" "$TMP/release.json"
fi
printf '  release.json: version %s, description "%s", rollout.fallback %s\n' "$(get .version "$TMP/release.json")" \
  "$(get .description "$TMP/release.json")" "$(get .rollout.fallback "$TMP/release.json")"
cd "$TMP"
admin PUT "/agents/$AGENT/releases/$NEW" "@release.json"
echo "  (a stored release serves nobody yet: a request pinned to it is still served by the active release)"
UNTIMED=1 until_shown "pin to $NEW ignored, active serves" '[[ $A_RELEASE == "$ACTIVE" && $A_DECISION == *pin-ignored* ]]' \
  -H "x-agent-release: $NEW"

say "2. Canary: $NEW at 10 %"
admin POST "/agents/$AGENT/canary" "{\"version\":\"$NEW\",\"percent\":10,\"reason\":\"walkthrough: start the canary\"}"
until_shown "pin to $NEW honoured (it is live as the canary)" '[[ $A_RELEASE == "$NEW" && $A_DECISION == pinned* ]]' \
  -H "x-agent-release: $NEW"
# Buckets are sticky per (agent, version) and do not depend on the percent: explain tells each key's bucket. Pick
# one key inside the 10 % (K10) and one that only a 50 % canary takes (K50), to show the next steps on them.
THRESHOLD10="" K10="" K50=""
for i in $(seq 1 300); do
  explain "user-$i"
  b=$(get .decision.bucket "$TMP/body.json")
  THRESHOLD10=$(get .decision.canary.threshold "$TMP/body.json")
  if [[ -z $K10 ]] && ((b < THRESHOLD10)); then K10=user-$i B10=$b; fi
  if [[ -z $K50 ]] && ((b >= THRESHOLD10 && b < 5 * THRESHOLD10)); then K50=user-$i B50=$b; fi
  if [[ -n $K10 && -n $K50 ]]; then break; fi
done
echo "  (explain: key $K10 has bucket $B10, under the 10 % threshold $THRESHOLD10; key $K50 has bucket $B50)"
UNTIMED=1 until_shown "key $K10 in the canary" '[[ $A_RELEASE == "$NEW" && $A_DECISION == canary* ]]' -H "x-agent-key: $K10"
UNTIMED=1 until_shown "key $K50 not in it" '[[ $A_RELEASE == "$ACTIVE" ]]' -H "x-agent-key: $K50"

say "3. Raise the canary to 50 %"
admin POST "/agents/$AGENT/canary" "{\"version\":\"$NEW\",\"percent\":50,\"reason\":\"walkthrough: widen\"}"
until_shown "key $K50 now in the 50 % canary" '[[ $A_RELEASE == "$NEW" && $A_DECISION == canary* ]]' -H "x-agent-key: $K50"

say "4. Abort the canary: instant revert"
admin DELETE "/agents/$AGENT/canary?reason=walkthrough:%20abort"
until_shown "key $K10 back on $ACTIVE" '[[ $A_RELEASE == "$ACTIVE" && $A_DECISION == stable* ]]' -H "x-agent-key: $K10"

say "5. Draft-only for the agent (an override, for 10 minutes)"
admin POST /overrides \
  "{\"scope\":{\"agent\":\"$AGENT\"},\"set\":{\"mode\":\"draft-only\"},\"reason\":\"walkthrough: incident\",\"ttlSeconds\":600}"
OVERRIDE=$(get .id "$TMP/body.json")
until_shown "lane draft-only" '[[ $A_LANE == draft-only && $A_DECISION == *"overrides=$OVERRIDE"* ]]'

say "6. Roll back: active := fallback"
admin POST "/agents/$AGENT/rollback" '{"reason":"walkthrough: roll back"}'
ROLLED_BACK_AT=$ANSWERED_AT
admin GET /state "" ".agents[\"$AGENT\"]"
FALLBACK_NOW=$(get ".agents[\"$AGENT\"].active" "$TMP/body.json")
printf '  now: active %s, offFrom %s\n' "$FALLBACK_NOW" "$(get ".agents[\"$AGENT\"].offFrom" "$TMP/body.json")"
ANSWERED_AT=$ROLLED_BACK_AT
if [[ $FALLBACK_NOW == off ]]; then
  echo "  (the fallback of $ACTIVE is \"off\": the agent answers that release's user fallback; no upstream is called)"
  until_shown "rolled back to off: user fallback" '[[ $A_LANE == off && $A_DECISION == off* ]]'
else
  until_shown "rolled back to $FALLBACK_NOW" '[[ $A_RELEASE == "$FALLBACK_NOW" ]]'
fi

say "The audit of this walkthrough (newest first)"
admin GET "/audit?agent=$AGENT&limit=6" "" -
if command -v jq >/dev/null 2>&1; then
  jq -r '.entries[] | "  #\(.seq) revision \(.revision): \(.action) by \(.actor): \(.reason)"' "$TMP/body.json"
fi

say "Time from the admin answer to the data plane showing the change"
for t in "${TIMINGS[@]}"; do echo "  $t"; done
