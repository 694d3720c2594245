"""SQL of event.get and problem.get (ZA §4): the events or problems a caller may read, filtered,
sorted and cut as Zabbix 7.0 does, and their sub-selects, each one query for all returned events.

Two values are computed at read time, each by one SQL helper that every field and filter uses:
`acknowledged` (`acknowledged_sql`, the server's one test: an acknowledgement span is active, see
`spans`) and `suppressed` (`suppressed_sql`: a suppression counts while its `suppress_until` is 0,
indefinite, or still ahead of the call's clock). Every query here binds that clock as `:now`.

A caller other than a super admin reads an event only when its trigger's host is readable
(read-write with `editable`); nothing says which events were left out.

Objects come back as Zabbix shows them, written as JSON by the database (`query.select_json`, with
its engine's JSON functions): every value text, NULL as "0" (`query.text_sql`), sub-selects included,
each row `(id, object JSON)` for the caller to put in an array (or an object keyed by id). Only the
rows of `groupBy` are dicts of the database's own values.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from ..caller import Caller
from ._sql import id_list, like_escaped, order_at
from .engine import Db, Engine
from .hosts import HOSTS, TRIGGERS
from .permissions import READ, READ_WRITE, permitted_hostids
from .query import GetQuery, ObjectTable, json_object, output_fields, select_json, select_objects, text_sql
from .spans import acknowledged_sql

Output = str | Sequence[str]
"""A sub-select's output: "extend", "count" where allowed, or field names."""

TRIGGER_SOURCE, TRIGGER_OBJECT = 0, 0
SERVICE_SOURCE, SERVICE_OBJECT = 4, 6
PROBLEM, RECOVERY = 1, 0
SEVERITIES = (0, 1, 2, 3, 4, 5)

# Tag operators and evaltypes (CApiTagHelper).
LIKE, EQUAL, NOT_LIKE, NOT_EQUAL, EXISTS, NOT_EXISTS = 0, 1, 2, 3, 4, 5
AND_OR, OR = 0, 2


def suppressed_sql(alias: str) -> str:
    """Whether the event under `alias` is suppressed at `:now` (a condition)."""
    return f"EXISTS (SELECT 1 FROM event_suppress es WHERE es.eventid = {alias}.eventid AND {_ACTIVE_SUPPRESSION})"


def _as_value(condition: str) -> str:
    """A condition as a field's value: 1 or 0 on both stores (PostgreSQL's own is a boolean)."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


_ACTIVE_SUPPRESSION = "(es.suppress_until = 0 OR es.suppress_until > :now)"
_OPDATA = "coalesce((SELECT t.opdata FROM triggers t WHERE t.triggerid = {alias}.objectid), '')"
_BY_HOSTS = "{alias}.objectid IN (SELECT triggerid FROM triggers WHERE hostid IN ({{ids}}))"
_BY_GROUPS = (
    "{alias}.objectid IN (SELECT t.triggerid FROM triggers t JOIN hosts_groups hg ON hg.hostid = t.hostid"
    " WHERE hg.groupid IN ({{ids}}))"
)


def _id_filters(alias: str) -> dict[str, str]:
    # unlikely(): the ids a caller names select few events; a host group may cover most of them.
    return {
        "eventids": f"unlikely({alias}.eventid IN ({{ids}}))",
        "objectids": f"unlikely({alias}.objectid IN ({{ids}}))",
        "hostids": f"unlikely({_BY_HOSTS.format(alias=alias)})",
        "groupids": _BY_GROUPS.format(alias=alias),
    }


# The event's recovery is found through event_recovery twice: as the problem (r_eventid) and, for
# an OK event, as the recovery (who or what closed it). One OK event may close several problems.
EVENTS = ObjectTable(
    source="events e",
    key="eventid",
    columns={
        "eventid": "e.eventid",
        "source": "e.source",
        "object": "e.object",
        "objectid": "e.objectid",
        "clock": "e.clock",
        "value": "e.value",
        "acknowledged": _as_value(acknowledged_sql("e")),
        "ns": "e.ns",
        "name": "e.name",
        "severity": "e.severity",
        "r_eventid": "(SELECT er.r_eventid FROM event_recovery er WHERE er.eventid = e.eventid)",
        "c_eventid": "(SELECT er.c_eventid FROM event_recovery er WHERE er.r_eventid = e.eventid LIMIT 1)",
        "correlationid": "(SELECT er.correlationid FROM event_recovery er WHERE er.r_eventid = e.eventid LIMIT 1)",
        "userid": "(SELECT er.userid FROM event_recovery er WHERE er.r_eventid = e.eventid LIMIT 1)",
        "cause_eventid": "(SELECT sy.cause_eventid FROM event_symptom sy WHERE sy.eventid = e.eventid)",
        "opdata": _OPDATA.format(alias="e"),
        "suppressed": _as_value(suppressed_sql("e")),
    },
    id_filters=_id_filters("e"),
)
PROBLEMS = ObjectTable(
    source="problem p",
    key="eventid",
    columns={
        "eventid": "p.eventid",
        "source": "p.source",
        "object": "p.object",
        "objectid": "p.objectid",
        "clock": "p.clock",
        "ns": "p.ns",
        "r_eventid": "p.r_eventid",
        "r_clock": "p.r_clock",
        "r_ns": "p.r_ns",
        "correlationid": "p.correlationid",
        "userid": "p.userid",
        "name": "p.name",
        "acknowledged": _as_value(acknowledged_sql("p")),
        "severity": "p.severity",
        "cause_eventid": "p.cause_eventid",
        "opdata": _OPDATA.format(alias="p"),
        "suppressed": _as_value(suppressed_sql("p")),
    },
    id_filters=_id_filters("p"),
)

ACKNOWLEDGE_COLUMNS = {
    name: f"a.{name}"
    for name in ("acknowledgeid", "userid", "clock", "message", "action", "old_severity", "new_severity",
                 "suppress_until", "taskid")
}
ACKNOWLEDGE_USER_COLUMNS = {"username": "u.username", "name": "u.name", "surname": "u.surname"}
SUPPRESSION_COLUMNS = {name: f"es.{name}" for name in ("maintenanceid", "suppress_until", "userid")}
TAG_COLUMNS = {"tag": "tg.tag", "value": "tg.value"}
TAG_IDS = {"event_tag": "eventtagid", "problem_tag": "problemtagid"}
"""Each tag table's id: its tags in the order they were written."""

# Whose names an acknowledgement may show (user.get's rule): a super admin sees every user,
# anyone else themselves and the members of their user groups.
_VISIBLE_USER = (
    "(u.userid = :perm_userid OR u.userid IN ("
    "SELECT mate.userid FROM users_groups mate JOIN users_groups mine ON mine.usrgrpid = mate.usrgrpid"
    " WHERE mine.userid = :perm_userid))"
)


@dataclass(frozen=True)
class TagFilter:
    tag: str
    operator: int = LIKE
    value: str = ""


@dataclass
class EventFilters:
    """The filters of event.get and problem.get beyond the common get params."""

    source: int = TRIGGER_SOURCE
    object: int = TRIGGER_OBJECT
    severities: list[int] | None = None
    time_from: int | None = None
    time_till: int | None = None
    eventid_from: int | None = None
    eventid_till: int | None = None
    acknowledged: bool | None = None
    action: int | None = None
    action_userids: list[int] | None = None
    suppressed: bool | None = None
    symptom: bool | None = None
    evaltype: int = AND_OR
    tags: list[TagFilter] | None = None
    editable: bool = False
    # event.get only
    values: list[int] | None = None
    trigger_severities: list[int] | None = None
    problem_time_from: int | None = None
    problem_time_till: int | None = None
    # problem.get only
    recent_since: int | None = None
    """With `recent`: also problems resolved after this time."""


@dataclass(frozen=True)
class Selects:
    """The sub-selects asked for; None: not asked."""

    acknowledges: Output | None = None
    acknowledge_users: bool = False
    """Whether acknowledges may carry username, name and surname (event.get)."""
    suppression_data: Output | None = None
    tags: Output | None = None
    hosts: Output | None = None
    related_object: Output | None = None
    alerts: bool = False
    urls: bool = False
    """Whether objects carry `urls` (always empty: no actions run here to make them)."""


Rows = list[tuple[str, str]]
"""Objects as (id, JSON text), in answer order."""


@dataclass
class EventRead:
    query: GetQuery
    filters: EventFilters = field(default_factory=EventFilters)
    selects: Selects = field(default_factory=Selects)
    group_by: bool = False
    """event.get's groupBy: ["objectid"]."""


# --- conditions ---------------------------------------------------------------------------------


def _like(text: str) -> str:
    return f"%{like_escaped(text)}%"


def _tag_groups(tags: Sequence[TagFilter]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per tag name, per "EXISTS" / "NOT EXISTS": "tag" (the tag alone) and "value" (its value
    matches, as (operator, operand) pairs), in the order given (CApiTagHelper's grouping)."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for one in tags:
        operator = one.operator
        if operator == NOT_LIKE and one.value == "":
            operator = NOT_EXISTS
        elif operator == LIKE and one.value == "":
            operator = EXISTS
        prefix = "EXISTS" if operator in (EXISTS, LIKE, EQUAL) else "NOT EXISTS"
        kinds = groups.setdefault(one.tag, {}).setdefault(prefix, {})
        if operator in (EXISTS, NOT_EXISTS):
            kinds["tag"] = True
            continue
        # LIKE ignores (ASCII) case, as Zabbix's UPPER(value) LIKE UPPER(pattern) does
        match = ("LIKE", _like(one.value)) if operator in (LIKE, NOT_LIKE) else ("=", one.value)
        if match not in kinds.setdefault("value", []):
            kinds["value"].append(match)
    for prefixes in groups.values():
        if "tag" in prefixes.get("EXISTS", {}):
            # "exists" wins over the same tag's values and over "does not exist"
            prefixes.clear()
            prefixes["EXISTS"] = {"tag": True}
    return groups


def tag_condition(
    engine: Engine, tags: Sequence[TagFilter], evaltype: int, alias: str, table: str, params: dict[str, Any]
) -> str:
    """Zabbix's tag filter: per tag name its conditions are ORed; tag names are ANDed (evaltype 0)
    or everything is ORed (evaltype 2). No tags at all match nothing."""
    clauses_by_tag = []
    for tag, prefixes in _tag_groups(tags).items():
        clauses = []
        for prefix, kinds in prefixes.items():
            start = (f"{prefix} (SELECT NULL FROM {table} tf WHERE tf.eventid = {alias}.eventid"
                     f" AND tf.tag = :{_param(params, 'tag', tag)}")
            if kinds.get("tag"):
                clauses.append(start + ")")
            if kinds.get("value"):
                ors = [
                    engine.like("tf.value", _param(params, "tagvalue", operand)) if operator == "LIKE"
                    else f"tf.value = :{_param(params, 'tagvalue', operand)}"
                    for operator, operand in kinds["value"]
                ]
                clauses.append(f"{start} AND {ors[0] if len(ors) == 1 else '(' + ' OR '.join(ors) + ')'})")
        clauses_by_tag.append(clauses)
    if not clauses_by_tag:
        return "(1=0)"
    if evaltype == OR:
        return "(" + " OR ".join(clause for clauses in clauses_by_tag for clause in clauses) + ")"
    return " AND ".join(clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")" for clauses in clauses_by_tag)


def _param(params: dict[str, Any], prefix: str, value: Any) -> str:
    """Bind `value` under a new name (the dict only grows, so its size makes names unique)."""
    name = f"{prefix}{len(params)}"
    params[name] = value
    return name


def _conditions(
    engine: Engine, filters: EventFilters, alias: str, tag_table: str, caller: Caller
) -> tuple[list[str], dict[str, Any]]:
    """The WHERE conditions (and their params) both methods share."""
    # Planner hints, as SQLite keeps no statistics here: every stored event is a trigger event, so
    # the indexes that start with (source, object) narrow nothing unless they also sort or find
    # objectids; without likely() SQLite would read them and sort every event for "newest first".
    where = [f"likely({alias}.source = :source)", f"likely({alias}.object = :object)"]
    params: dict[str, Any] = {"source": filters.source, "object": filters.object}
    if not caller.is_super_admin:
        level = READ_WRITE if filters.editable else READ
        where.append(f"{alias}.objectid IN (SELECT triggerid FROM triggers WHERE hostid IN ({permitted_hostids(level)}))")
        params["perm_userid"] = caller.userid
    if filters.severities is not None and sorted(filters.severities) != list(SEVERITIES):
        where.append(f"{alias}.severity IN ({id_list(filters.severities)})")
    for name, operator in (("time_from", ">="), ("time_till", "<=")):
        if getattr(filters, name) is not None:
            where.append(f"{alias}.clock {operator} :{name}")
            params[name] = getattr(filters, name)
    for name, operator in (("eventid_from", ">="), ("eventid_till", "<=")):
        if getattr(filters, name) is not None:
            where.append(f"{alias}.eventid {operator} :{name}")
            params[name] = getattr(filters, name)
    if filters.acknowledged is not None:
        where.append(("" if filters.acknowledged else "NOT ") + acknowledged_sql(alias))
    actions = []
    if filters.action is not None:
        actions.append(f"ack.action & {int(filters.action)} = {int(filters.action)}")
    if filters.action_userids is not None:
        actions.append(f"ack.userid IN ({id_list(filters.action_userids)})")
    if actions:
        where.append(f"EXISTS (SELECT 1 FROM acknowledges ack WHERE ack.eventid = {alias}.eventid AND {' AND '.join(actions)})")
    if filters.suppressed is not None:
        where.append(("" if filters.suppressed else "NOT ") + suppressed_sql(alias))
    if filters.tags is not None:
        where.append(tag_condition(engine, filters.tags, filters.evaltype, alias, tag_table, params))
    return where, params


def _restricted(query: GetQuery, where: list[str], params: dict[str, Any], now: int) -> GetQuery:
    return dataclasses.replace(
        query, where=[*query.where, *where], params={**query.params, **params, "now": now}
    )


# --- event.get ----------------------------------------------------------------------------------


def _event_conditions(engine: Engine, filters: EventFilters, caller: Caller) -> tuple[list[str], dict[str, Any]]:
    where, params = _conditions(engine, filters, "e", "event_tag", caller)
    if filters.trigger_severities is not None and sorted(filters.trigger_severities) != list(SEVERITIES):
        where.append(f"e.objectid IN (SELECT triggerid FROM triggers WHERE priority IN ({id_list(filters.trigger_severities)}))")
    if filters.symptom is not None:
        where.append(("" if filters.symptom else "NOT ") + "EXISTS (SELECT 1 FROM event_symptom sy WHERE sy.eventid = e.eventid)")
    return where, params


def _splits_by_value(filters: EventFilters) -> bool:
    """Trigger and service events are read as problems, then recoveries (Zabbix's two queries)."""
    return (filters.source, filters.object) in ((TRIGGER_SOURCE, TRIGGER_OBJECT), (SERVICE_SOURCE, SERVICE_OBJECT))


def _value_parts(filters: EventFilters) -> list[str]:
    """One condition per query to run; their results are concatenated in this order."""
    if not _splits_by_value(filters):
        return [f"e.value IN ({id_list(filters.values)})"] if filters.values is not None else ["1=1"]
    both_problem_times = filters.problem_time_from is not None and filters.problem_time_till is not None
    values = filters.values if filters.values is not None else ([PROBLEM] if both_problem_times else [PROBLEM, RECOVERY])
    parts = []
    for value in (PROBLEM, RECOVERY):
        if value in values:
            parts.append(f"e.value = {value}" + (f" AND {_problem_time(value)}" if both_problem_times else ""))
    return parts


def _problem_time(value: int) -> str:
    """Problems open at some moment of [from, till], or recoveries of problems that were."""
    if value == PROBLEM:
        return (
            "e.clock <= :problem_time_till AND (NOT EXISTS (SELECT 1 FROM event_recovery er WHERE er.eventid = e.eventid)"
            " OR EXISTS (SELECT 1 FROM event_recovery er JOIN events ok ON ok.eventid = er.r_eventid"
            " WHERE er.eventid = e.eventid AND ok.clock >= :problem_time_from))"
        )
    return (
        "e.clock >= :problem_time_from AND EXISTS (SELECT 1 FROM event_recovery er JOIN events pe ON pe.eventid = er.eventid"
        " WHERE er.r_eventid = e.eventid AND pe.clock <= :problem_time_till)"
    )


def read_events(conn: Db, read: EventRead, caller: Caller, now: int) -> Rows | list[dict[str, Any]] | int:
    """event.get: the objects (with their sub-selects), their number for `count`, or with
    `group_by` one row per trigger (`objectid`, and `rowscount` for `count`)."""
    where, params = _event_conditions(conn.engine, read.filters, caller)
    params.update(problem_time_from=read.filters.problem_time_from, problem_time_till=read.filters.problem_time_till)
    query = _restricted(read.query, where, params, now)
    parts = _value_parts(read.filters)
    if read.group_by:
        return _grouped(conn, query, parts)
    query = _without_rowscount(query)
    if query.count:
        return sum(cast(int, select_objects(conn, EVENTS, _also(query, part))) for part in parts)
    members = _sub_selects(conn.engine, read.selects, "e", "event_tag", caller, query.params)
    if len(parts) == 1:
        return cast(Rows, select_json(conn, EVENTS, _also(query, parts[0]), members))
    return _merged(conn, query, parts, members)


def _also(query: GetQuery, condition: str) -> GetQuery:
    return dataclasses.replace(query, where=[*query.where, condition])


def _merged(conn: Db, query: GetQuery, parts: list[str], members: dict[str, str]) -> Rows:
    """Each part's rows (each sorted and limited in SQL), concatenated, sorted again, cut to the limit."""
    # the sort values ride along with each row; every field event.get sorts by is an integer column
    sort_values = [EVENTS.columns[name] for name in query.sortfield]
    rows = [row for part in parts for row in select_json(conn, EVENTS, _also(query, part), members, also=sort_values)]
    for index in reversed(range(len(query.sortfield))):  # stable sorts, last key first
        rows.sort(key=itemgetter(2 + index), reverse=order_at(query.sortorder, index) == "DESC")
    return [(key, obj) for key, obj, *_ in (rows[: query.limit] if query.limit else rows)]


def _without_rowscount(query: GetQuery) -> GetQuery:
    """Only grouped reads count rows: elsewhere sorting by rowscount is ignored."""
    if "rowscount" not in query.sortfield:
        return query
    kept = [index for index, name in enumerate(query.sortfield) if name != "rowscount"]
    return dataclasses.replace(
        query, sortfield=[query.sortfield[i] for i in kept], sortorder=[order_at(query.sortorder, i) for i in kept]
    )


def _grouped(conn: Db, query: GetQuery, parts: list[str]) -> list[dict[str, Any]]:
    """groupBy objectid: the triggers (by id, as SQL's GROUP BY gives them) with their event counts."""
    ids_only = dataclasses.replace(query, output=["objectid"], count=False, limit=None, sortfield=[], sortorder=[])
    counts: Counter[int] = Counter()
    for part in parts:
        counts.update(row["objectid"] for row in cast(list[dict[str, Any]], select_objects(conn, EVENTS, _also(ids_only, part))))
    rows = [{"objectid": objectid, "rowscount": n} for objectid, n in sorted(counts.items())]
    for index in reversed(range(len(query.sortfield))):
        name = query.sortfield[index]
        if name in ("objectid", "rowscount"):
            rows.sort(key=itemgetter(name), reverse=order_at(query.sortorder, index) == "DESC")
    rows = rows[: query.limit] if query.limit else rows
    if not query.count:
        for row in rows:
            del row["rowscount"]
    return rows


# --- problem.get --------------------------------------------------------------------------------


def read_problems(conn: Db, read: EventRead, caller: Caller, now: int) -> Rows | int:
    """problem.get: unresolved problems (and, with `recent_since`, those resolved after it)."""
    where, params = _conditions(conn.engine, read.filters, "p", "problem_tag", caller)
    if read.filters.symptom is not None:
        where.append(f"p.cause_eventid IS {'NOT ' if read.filters.symptom else ''}NULL")
    if read.filters.recent_since is None:
        where.append("p.r_eventid IS NULL")
    else:
        # +: not through the r_clock index, or SQLite unions two full reads of (source, object)
        where.append("(p.r_eventid IS NULL OR +p.r_clock > :recent_since)")
        params["recent_since"] = read.filters.recent_since
    query = _restricted(read.query, where, params, now)
    if query.count:
        return cast(int, select_objects(conn, PROBLEMS, query))
    members = _sub_selects(conn.engine, read.selects, "p", "problem_tag", caller, query.params)
    return cast(Rows, select_json(conn, PROBLEMS, query, members))


# --- sub-selects: each a JSON member of the object, made by one correlated subquery -------------


def _sub_selects(
    engine: Engine, selects: Selects, alias: str, tag_table: str, caller: Caller, params: dict[str, Any]
) -> dict[str, str]:
    """Name -> SQL of the JSON value of each sub-select asked for, for the event under `alias`;
    binds what they need in `params`."""
    eventid = f"{alias}.eventid"
    members: dict[str, str] = {}
    if selects.acknowledges == "count":
        # a subquery's text is a string in a JSON object on both stores
        members["acknowledges"] = f"(SELECT {text_sql('COUNT(*)')} FROM acknowledges a WHERE a.eventid = {eventid})"
    elif selects.acknowledges is not None:
        members["acknowledges"] = _acknowledges(engine, eventid, selects.acknowledges, selects.acknowledge_users, caller, params)
    if selects.alerts:
        members["alerts"] = engine.empty_json_array()  # no actions run here, so no alerts are ever sent
    if selects.hosts is not None:
        host = json_object(engine, _texts(HOSTS.columns, selects.hosts))
        members["hosts"] = engine.json_array(host, "triggers t JOIN hosts h ON h.hostid = t.hostid",
                                             f"t.triggerid = {alias}.objectid", "h.hostid")
    if selects.related_object is not None:
        trigger = json_object(engine, _texts(TRIGGERS.columns, selects.related_object))
        members["relatedObject"] = engine.json_or(f"SELECT {trigger} FROM triggers t WHERE t.triggerid = {alias}.objectid", "[]")
    if selects.suppression_data is not None:
        suppression = json_object(engine, _texts(SUPPRESSION_COLUMNS, selects.suppression_data))
        members["suppression_data"] = engine.json_array(
            suppression, "event_suppress es", f"es.eventid = {eventid} AND {_ACTIVE_SUPPRESSION}", "es.event_suppressid"
        )
    if selects.tags is not None:
        tag = json_object(engine, _texts(TAG_COLUMNS, selects.tags))
        members["tags"] = engine.json_array(tag, f"{tag_table} tg", f"tg.eventid = {eventid}", f"tg.{TAG_IDS[tag_table]}")
    if selects.urls:
        members["urls"] = engine.empty_json_array()
    return members


def _texts(columns: Mapping[str, str], output: Output) -> dict[str, str]:
    """The `output` fields of `columns`, each as the SQL of its text (for `json_object`)."""
    return {name: text_sql(columns[name]) for name in output_fields(columns, output)}


def _acknowledges(
    engine: Engine, eventid: str, output: Output, with_users: bool, caller: Caller, params: dict[str, Any]
) -> str:
    """The event's history rows, newest first. `with_users`: also the author's username, name and
    surname (when asked for), where the caller may see the author; missing otherwise."""
    own = _texts(ACKNOWLEDGE_COLUMNS, output)
    author = _texts(ACKNOWLEDGE_USER_COLUMNS, output) if with_users else {}
    order = "a.clock DESC, a.acknowledgeid DESC"
    if not author:
        return engine.json_array(json_object(engine, own), "acknowledges a", f"a.eventid = {eventid}", order)
    visible = "1=1"
    if not caller.is_super_admin:
        visible, params["perm_userid"] = _VISIBLE_USER, caller.userid
    obj = f"CASE WHEN u.userid IS NULL THEN {json_object(engine, own)} ELSE {json_object(engine, {**own, **author})} END"
    return engine.json_array(obj, f"acknowledges a LEFT JOIN users u ON u.userid = a.userid AND {visible}",
                             f"a.eventid = {eventid}", order)
