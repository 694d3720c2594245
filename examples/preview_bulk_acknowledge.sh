#!/bin/sh
# Preview a bulk acknowledgement with `Dry-Run: true`, then make it, with plain curl against `rpcserver serve --demo`.
#
#     sh examples/preview_bulk_acknowledge.sh [URL]      # URL defaults to http://127.0.0.1:8080
#
# A dry run checks and runs every call as usual and answers as it would (here: which problems the
# acknowledgement covers, or why it is refused), then keeps nothing: no history row, no change of state.
# The answer says `Dry-Run: true`. Needs only curl, grep and sed.
set -eu

endpoint="${1:-http://127.0.0.1:8080}/api_jsonrpc"

# post BODY [CURL-OPTION...]: print the answer's headers of interest and its body; stop on a JSON-RPC error.
post() {
    body=$1
    shift
    answer=$(curl --silent --show-error --fail --max-time 10 --dump-header "$headers" \
        -H 'Content-Type: application/json' "$@" --data "$body" "$endpoint")
    echo "< $answer"
    case $answer in
        *'"error"'*) echo "failed: $body" >&2; exit 1 ;;
    esac
}
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT

post '{"jsonrpc":"2.0","method":"user.login","params":{"username":"operator","password":"operator"},"id":1}'
session=$(printf '%s\n' "$answer" | sed 's/.*"result" *: *"\([^"]*\)".*/\1/')
bearer="Authorization: Bearer $session"

unacknowledged='{"jsonrpc":"2.0","method":"problem.get","params":{"output":["eventid"],"acknowledged":false,"countOutput":true},"id":2}'
post "$unacknowledged" -H "$bearer"
before=$answer

# Every open problem of the user's, in one call (event.acknowledge takes up to 100,000 ids).
eventids=$(curl --silent --fail --max-time 10 -H 'Content-Type: application/json' -H "$bearer" --data \
    '{"jsonrpc":"2.0","method":"problem.get","params":{"output":["eventid"]},"id":3}' "$endpoint" \
    | grep -o '"eventid" *: *"[0-9]*"' | sed 's/.*"\([0-9]*\)"/\1/' | paste -sd, -)
bulk="{\"jsonrpc\":\"2.0\",\"method\":\"event.acknowledge\",\"params\":{\"eventids\":[${eventids:?no open problems}],\"action\":6,\"message\":\"Known outage, see INC-7.\"},\"id\":4}"

echo "> dry run of event.acknowledge on $eventids"
post "$bulk" -H "$bearer" -H 'Dry-Run: true'
grep -qi '^Dry-Run: true' "$headers" || { echo "the answer does not say Dry-Run: true" >&2; exit 1; }
post "$unacknowledged" -H "$bearer"
[ "$answer" = "$before" ] || { echo "the dry run changed the state" >&2; exit 1; }
echo "nothing changed; now for real"

post "$bulk" -H "$bearer"
post "$unacknowledged" -H "$bearer"
post '{"jsonrpc":"2.0","method":"user.logout","params":{},"id":5}' -H "$bearer"
