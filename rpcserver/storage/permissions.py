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
    return f"SELECT groupid FROM ({_GROUP_PERMISSION}) WHERE permission >= {int(min_permission)}"
