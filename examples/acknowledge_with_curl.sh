#!/bin/sh
# Acknowledge problems with plain curl against `rpcserver serve --demo`, two ways: Zabbix's
# event.acknowledge (indefinite) and acknowledgement.create (for 30 minutes).
#
#     sh examples/acknowledge_with_curl.sh [URL]      # URL defaults to http://127.0.0.1:8080
#
# Needs only curl and a POSIX shell: values are picked out of the JSON answers with grep -o and sed,
# which is enough for the flat answers used here (use jq or a real JSON parser for anything more).
# The session id from user.login goes in `Authorization: Bearer <session>` on every later call.
set -eu

endpoint="${1:-http://127.0.0.1:8080}/api_jsonrpc"

# call METHOD PARAMS [CURL-OPTION...]: post one request, print it and its answer, keep the answer in
# $answer; stop the script on a JSON-RPC error (those come with HTTP 200) or a failed transfer.
call() {
    method=$1 params=$2
    shift 2
    echo "> $method $params"
    answer=$(curl --silent --show-error --fail --max-time 10 -H 'Content-Type: application/json' "$@" \
        --data "{\"jsonrpc\":\"2.0\",\"method\":\"$method\",\"params\":$params,\"id\":1}" "$endpoint")
    echo "< $answer"
    case $answer in
        *'"error"'*) echo "$method failed" >&2; exit 1 ;;
    esac
}

# pick NAME: the string values of NAME in $answer, one a line (enough for the flat answers used here).
pick() {
    printf '%s\n' "$answer" | grep -o "\"$1\" *: *\"[^\"]*\"" | sed 's/.*: *"\(.*\)"/\1/'
}

call apiinfo.version '{}'

call user.login '{"username":"operator","password":"operator"}'
session=$(pick result)
bearer="Authorization: Bearer ${session:?no session id in the answer}"

call problem.get '{"output":["eventid"],"acknowledged":false,"sortfield":"eventid","limit":2}' -H "$bearer"
first=$(pick eventid | sed -n 1p)
second=$(pick eventid | sed -n 2p)
echo "unacknowledged problems: ${first:?none left} and ${second:?only one left}"

# action 6 = acknowledge (2) + add a message (4); the acknowledgement lasts until someone ends it
call event.acknowledge "{\"eventids\":\"$first\",\"action\":6,\"message\":\"Looking into it.\"}" -H "$bearer"

# this one ends by itself 30 minutes from now (acknowledged_until comes back in epoch seconds)
call acknowledgement.create "{\"eventid\":\"$second\",\"acknowledged_until\":\"30m\",\"notes\":\"Maintenance window.\"}" -H "$bearer"

call problem.get "{\"output\":[\"eventid\",\"acknowledged\"],\"eventids\":[\"$first\",\"$second\"]}" -H "$bearer"

call user.logout '{}' -H "$bearer"
