"""Host-group permissions as SQL: which hosts and host groups a user may read or write.

Rights come from the user's user groups: per host group, a deny (0) from any of them wins,
otherwise the highest grant (2 read, 3 read-write). A host is permitted when none of its groups
is denied and one grants enough. Super admins are not filtered at all (callers skip these).
Every fragment takes the user id as the named parameter `:perm_userid`.
"""

from __future__ import annotations

READ, READ_WRITE, DENY = 2, 3, 0

_GROUP_PERMISSION = """
    SELECT r.id AS groupid,
           CASE WHEN MIN(r.permission) = 0 THEN 0 ELSE MAX(r.permission) END AS permission
    FROM users_groups ug JOIN rights r ON r.groupid = ug.usrgrpid
    WHERE ug.userid = :perm_userid
    GROUP BY r.id
"""


def permitted_hostids(min_permission: int) -> str:
    """A SELECT of the ids of hosts the user has at least `min_permission` on."""
    return f"""
        SELECT hg.hostid FROM hosts_groups hg JOIN ({_GROUP_PERMISSION}) gp ON gp.groupid = hg.groupid
        GROUP BY hg.hostid
        HAVING MIN(gp.permission) > 0 AND MAX(gp.permission) >= {int(min_permission)}
    """


def permitted_groupids(min_permission: int) -> str:
    """A SELECT of the ids of host groups the user has at least `min_permission` on."""
    return f"SELECT gp.groupid FROM ({_GROUP_PERMISSION}) gp WHERE gp.permission >= {int(min_permission)}"


_HOST_RIGHTS = """
    SELECT 1 FROM hosts_groups hg JOIN rights r ON r.id = hg.groupid JOIN users_groups ug ON ug.usrgrpid = r.groupid
    WHERE hg.hostid = {host} AND ug.userid = :perm_userid
"""


def host_permitted(host: str, min_permission: int) -> str:
    """A condition: the host in column `host` is permitted to the user at `min_permission` (the same
    rule as `permitted_hostids`, asked about one host: cheaper when few hosts are in question)."""
    rights = _HOST_RIGHTS.format(host=host)
    return (f"(EXISTS ({rights} AND r.permission >= {int(min_permission)})"
            f" AND NOT EXISTS ({rights} AND r.permission = {DENY}))")
