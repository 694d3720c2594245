"""Schema version 1: identity (users, groups, roles, rights, sessions, tokens), the
Zabbix-shaped monitoring data (host groups, hosts, triggers, events, problems and their history),
and acknowledgement spans (ours, API.md §5).

Table and column names follow Zabbix's schema so that its documentation reads across; where we
keep less (one host per trigger, no items), the comment says so. Ids of the objects people refer to
are AUTOINCREMENT: a deleted user's or event's id is never given to another.
"""

SCHEMA_V1 = """
CREATE TABLE role (
    roleid      INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    type        INTEGER NOT NULL,                    -- 1 User, 2 Admin, 3 Super admin
    readonly    INTEGER NOT NULL DEFAULT 0           -- the built-in Super admin role cannot change
);
CREATE TABLE role_rule (
    role_ruleid INTEGER PRIMARY KEY,
    roleid      INTEGER NOT NULL REFERENCES role ON DELETE CASCADE,
    name        TEXT    NOT NULL,                    -- 'actions.close_problems', 'api.access', 'api.method.0', ...
    value_int   INTEGER NOT NULL DEFAULT 0,
    value_str   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX role_rule_roleid ON role_rule (roleid);

CREATE TABLE users (
    userid          INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name            TEXT    NOT NULL DEFAULT '',
    surname         TEXT    NOT NULL DEFAULT '',
    passwd          TEXT    NOT NULL DEFAULT '',     -- scrypt hash, never the password
    roleid          INTEGER REFERENCES role,         -- NULL: the user cannot log in
    autologout      TEXT    NOT NULL DEFAULT '15m',  -- idle session timeout, '0' = never
    attempt_failed  INTEGER NOT NULL DEFAULT 0,
    attempt_clock   INTEGER NOT NULL DEFAULT 0,
    attempt_ip      TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE usrgrp (
    usrgrpid     INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    gui_access   INTEGER NOT NULL DEFAULT 0,
    users_status INTEGER NOT NULL DEFAULT 0,         -- 1: members are disabled
    debug_mode   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE users_groups (
    id       INTEGER PRIMARY KEY,
    usrgrpid INTEGER NOT NULL REFERENCES usrgrp ON DELETE CASCADE,
    userid   INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    UNIQUE (usrgrpid, userid)
);
CREATE INDEX users_groups_userid ON users_groups (userid);

CREATE TABLE hstgrp (
    groupid INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT    NOT NULL UNIQUE,
    flags   INTEGER NOT NULL DEFAULT 0,
    uuid    TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE rights (
    rightid    INTEGER PRIMARY KEY,
    groupid    INTEGER NOT NULL REFERENCES usrgrp ON DELETE CASCADE,   -- the user group
    permission INTEGER NOT NULL,                                      -- 0 deny, 2 read, 3 read-write
    id         INTEGER NOT NULL REFERENCES hstgrp ON DELETE CASCADE,   -- the host group
    UNIQUE (groupid, id)
);
CREATE INDEX rights_id ON rights (id);

CREATE TABLE sessions (
    sessionid  TEXT    PRIMARY KEY,
    userid     INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    lastaccess INTEGER NOT NULL,
    status     INTEGER NOT NULL DEFAULT 0,           -- 0 active, 1 passive (logged out)
    secret     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_userid ON sessions (userid, status);
CREATE TABLE token (
    tokenid        INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    userid         INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    token          TEXT    UNIQUE,                   -- sha512 hex of the secret; NULL until generated
    lastaccess     INTEGER NOT NULL DEFAULT 0,
    status         INTEGER NOT NULL DEFAULT 0,       -- 0 enabled, 1 disabled
    expires_at     INTEGER NOT NULL DEFAULT 0,       -- 0 never
    created_at     INTEGER NOT NULL DEFAULT 0,
    creator_userid INTEGER REFERENCES users ON DELETE SET NULL,
    UNIQUE (userid, name)
);

CREATE TABLE hosts (
    hostid INTEGER PRIMARY KEY AUTOINCREMENT,
    host   TEXT    NOT NULL UNIQUE,
    name   TEXT    NOT NULL,
    status INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE hosts_groups (
    hostgroupid INTEGER PRIMARY KEY,
    hostid      INTEGER NOT NULL REFERENCES hosts ON DELETE CASCADE,
    groupid     INTEGER NOT NULL REFERENCES hstgrp ON DELETE CASCADE,
    UNIQUE (hostid, groupid)
);
CREATE INDEX hosts_groups_groupid ON hosts_groups (groupid);

-- Zabbix links triggers to hosts through functions and items; here a trigger has one host.
CREATE TABLE triggers (
    triggerid    INTEGER PRIMARY KEY AUTOINCREMENT,
    hostid       INTEGER NOT NULL REFERENCES hosts ON DELETE CASCADE,
    description  TEXT    NOT NULL,
    priority     INTEGER NOT NULL DEFAULT 0,
    manual_close INTEGER NOT NULL DEFAULT 0,         -- 1: problems may be closed by hand
    value        INTEGER NOT NULL DEFAULT 0,         -- 1 while a problem is open
    opdata       TEXT    NOT NULL DEFAULT '',
    lastchange   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (hostid, description)
);

CREATE TABLE events (
    eventid      INTEGER PRIMARY KEY AUTOINCREMENT,
    source       INTEGER NOT NULL DEFAULT 0,
    object       INTEGER NOT NULL DEFAULT 0,
    objectid     INTEGER NOT NULL,
    clock        INTEGER NOT NULL,
    value        INTEGER NOT NULL,
    acknowledged INTEGER NOT NULL DEFAULT 0,
    ns           INTEGER NOT NULL DEFAULT 0,
    name         TEXT    NOT NULL DEFAULT '',
    severity     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_1 ON events (source, object, objectid, clock);
CREATE INDEX events_2 ON events (source, object, clock);
CREATE TABLE problem (
    eventid       INTEGER PRIMARY KEY REFERENCES events ON DELETE CASCADE,
    source        INTEGER NOT NULL DEFAULT 0,
    object        INTEGER NOT NULL DEFAULT 0,
    objectid      INTEGER NOT NULL,
    clock         INTEGER NOT NULL,
    ns            INTEGER NOT NULL DEFAULT 0,
    r_eventid     INTEGER REFERENCES events ON DELETE SET NULL,
    r_clock       INTEGER NOT NULL DEFAULT 0,
    r_ns          INTEGER NOT NULL DEFAULT 0,
    correlationid INTEGER,
    userid        INTEGER REFERENCES users ON DELETE SET NULL,
    name          TEXT    NOT NULL DEFAULT '',
    acknowledged  INTEGER NOT NULL DEFAULT 0,
    severity      INTEGER NOT NULL DEFAULT 0,
    cause_eventid INTEGER REFERENCES events ON DELETE SET NULL
);
CREATE INDEX problem_1 ON problem (source, object, objectid);
CREATE INDEX problem_2 ON problem (r_clock);
CREATE INDEX problem_3 ON problem (r_eventid);
CREATE INDEX problem_4 ON problem (cause_eventid);
CREATE TABLE event_recovery (
    eventid       INTEGER PRIMARY KEY REFERENCES events ON DELETE CASCADE,
    r_eventid     INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    c_eventid     INTEGER REFERENCES events ON DELETE CASCADE,
    correlationid INTEGER,
    userid        INTEGER REFERENCES users ON DELETE SET NULL
);
CREATE INDEX event_recovery_1 ON event_recovery (r_eventid);
CREATE TABLE event_tag (
    eventtagid INTEGER PRIMARY KEY,
    eventid    INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    tag        TEXT    NOT NULL DEFAULT '',
    value      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX event_tag_1 ON event_tag (eventid);
CREATE TABLE problem_tag (
    problemtagid INTEGER PRIMARY KEY,
    eventid      INTEGER NOT NULL REFERENCES problem ON DELETE CASCADE,
    tag          TEXT    NOT NULL DEFAULT '',
    value        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX problem_tag_1 ON problem_tag (eventid, tag, value);
CREATE TABLE acknowledges (
    acknowledgeid  INTEGER PRIMARY KEY AUTOINCREMENT,
    userid         INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    eventid        INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    clock          INTEGER NOT NULL,
    message        TEXT    NOT NULL DEFAULT '',
    action         INTEGER NOT NULL DEFAULT 0,
    old_severity   INTEGER NOT NULL DEFAULT 0,
    new_severity   INTEGER NOT NULL DEFAULT 0,
    suppress_until INTEGER NOT NULL DEFAULT 0,
    taskid         INTEGER
);
CREATE INDEX acknowledges_1 ON acknowledges (userid);
CREATE INDEX acknowledges_2 ON acknowledges (eventid);
CREATE INDEX acknowledges_3 ON acknowledges (clock);
CREATE TABLE event_suppress (
    event_suppressid INTEGER PRIMARY KEY,
    eventid          INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    maintenanceid    INTEGER,                        -- NULL: suppressed by hand
    suppress_until   INTEGER NOT NULL DEFAULT 0,     -- 0: indefinitely
    userid           INTEGER REFERENCES users ON DELETE SET NULL,
    UNIQUE (eventid, maintenanceid)
);
CREATE TABLE event_symptom (
    eventid       INTEGER PRIMARY KEY REFERENCES events ON DELETE CASCADE,
    cause_eventid INTEGER NOT NULL REFERENCES events ON DELETE CASCADE
);
CREATE INDEX event_symptom_1 ON event_symptom (cause_eventid);

-- Ours: who was paged for a problem (event.create's paged_users; the incident dialect's paged_user).
CREATE TABLE event_page (
    eventid INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    userid  INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    PRIMARY KEY (eventid, userid)
);
CREATE INDEX event_page_userid ON event_page (userid);

-- Ours: what the incident dialect keeps beyond the problem itself (API.md §4).
CREATE TABLE incident_state (
    eventid         INTEGER PRIMARY KEY REFERENCES events ON DELETE CASCADE,
    acknowledged_by TEXT,                            -- free text given to incident.acknowledge
    assigned_to     INTEGER REFERENCES users ON DELETE SET NULL,
    closed_at       INTEGER,
    closed_by       INTEGER REFERENCES users ON DELETE SET NULL
);
CREATE TABLE incident_note (
    noteid      INTEGER PRIMARY KEY AUTOINCREMENT,
    eventid     INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    clock       INTEGER NOT NULL,
    userid      INTEGER REFERENCES users ON DELETE SET NULL,
    status_from TEXT    NOT NULL,
    status_to   TEXT    NOT NULL,
    text        TEXT    NOT NULL
);
CREATE INDEX incident_note_1 ON incident_note (eventid, noteid);
-- Accepted incident.mass* calls, for the per-caller rate limit (shared by every server process).
CREATE TABLE mass_call (
    userid INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    clock  INTEGER NOT NULL
);
CREATE INDEX mass_call_1 ON mass_call (userid, clock);

-- Ours (API.md §5): every acknowledgement is a span. An event is acknowledged exactly while one of its
-- spans is active (acknowledged_until NULL or ahead of the clock); reads compute that, to the second.
-- events.acknowledged and problem.acknowledged say whether the event has a span whose end is not
-- recorded yet, so raw SQL sees the truth within the expiry sweep's delay; no decision reads them.
-- Span writes keep them so (storage/spans.py, set-based); the trigger covers spans deleted along
-- with their user.
CREATE TABLE acknowledgement (
    acknowledgementid  INTEGER PRIMARY KEY AUTOINCREMENT,
    eventid            INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    userid             INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,  -- who made it; goes with the user, as acknowledges rows do
    acknowledged_on    INTEGER NOT NULL,
    acknowledged_until INTEGER,                      -- NULL: indefinite
    notes              TEXT    NOT NULL DEFAULT '',
    last_modified      INTEGER NOT NULL,
    last_modified_by   INTEGER REFERENCES users ON DELETE SET NULL,
    end_recorded       INTEGER NOT NULL DEFAULT 0    -- 1 once its end is history: action 16 written if it unacknowledged the event
);
CREATE INDEX acknowledgement_1 ON acknowledgement (eventid, acknowledged_until);
CREATE INDEX acknowledgement_2 ON acknowledgement (userid);
CREATE INDEX acknowledgement_3 ON acknowledgement (acknowledged_on);
CREATE INDEX acknowledgement_4 ON acknowledgement (acknowledged_until);
CREATE INDEX acknowledgement_5 ON acknowledgement (last_modified_by);
CREATE INDEX acknowledgement_due ON acknowledgement (acknowledged_until) WHERE end_recorded = 0;
CREATE TRIGGER acknowledgement_deleted AFTER DELETE ON acknowledgement WHEN OLD.end_recorded = 0
BEGIN
    UPDATE events SET acknowledged = EXISTS (SELECT 1 FROM acknowledgement a WHERE a.eventid = OLD.eventid AND a.end_recorded = 0)
        WHERE eventid = OLD.eventid;
    UPDATE problem SET acknowledged = EXISTS (SELECT 1 FROM acknowledgement a WHERE a.eventid = OLD.eventid AND a.end_recorded = 0)
        WHERE eventid = OLD.eventid;
END;
"""

# The built-in rows every database starts with. Zabbix's ids where Zabbix has them.
DEFAULT_ROWS = """
INSERT INTO role (roleid, name, type, readonly) VALUES
    (1, 'User role', 1, 0), (2, 'Admin role', 2, 0), (3, 'Super admin role', 3, 1), (4, 'Guest role', 1, 0);
INSERT INTO role_rule (roleid, name, value_int) VALUES
    (1, 'actions.default_access', 1), (1, 'api.access', 1), (1, 'api.mode', 0),
    (2, 'actions.default_access', 1), (2, 'api.access', 1), (2, 'api.mode', 0),
    (3, 'actions.default_access', 1), (3, 'api.access', 1), (3, 'api.mode', 0),
    (4, 'actions.default_access', 0), (4, 'api.access', 0), (4, 'api.mode', 0);
INSERT INTO usrgrp (usrgrpid, name, gui_access, users_status) VALUES
    (7, 'Zabbix administrators', 0, 0), (8, 'Guests', 0, 0), (9, 'Disabled', 0, 1);
INSERT INTO hstgrp (groupid, name) VALUES (5, 'Discovered hosts');
"""
