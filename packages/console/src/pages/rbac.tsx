import { useState } from "preact/hooks";
import type { Session } from "../session.js";
import { ActionForm, formatTime, Refusal, Section, Table, useAction, useLoad, Input } from "../ui.js";

/** The workspace's permissions and roles (those keys carry, not root keys'). */
export function Rbac({ session }: { session: Session }) {
  const permissions = useLoad(() => session.api.rbac.listPermissions({ pageSize: 100 }), []);
  const roles = useLoad(() => session.api.rbac.listRoles({ pageSize: 100 }), []);
  const [permissionName, setPermissionName] = useState("");
  const [roleName, setRoleName] = useState("");
  const [rolePermissions, setRolePermissions] = useState("");
  const createPermission = useAction();
  const createRole = useAction();
  const change = useAction();
  const manage = session.may("rbac.manage");
  return (
    <>
      <h1>Roles and permissions</h1>
      {manage ? (
        <Section title="Create">
          <ActionForm
            action={createPermission}
            label="Create permission"
            submit={async () => {
              if (await createPermission.run(() => session.api.rbac.createPermission({ permission: { name: permissionName }, requestId: crypto.randomUUID() }))) {
                setPermissionName("");
                permissions.reload();
              }
            }}
          >
            <Input label="Permission name" hint="Such as documents.read" name="permission-name" required value={permissionName} onValue={setPermissionName} />
          </ActionForm>
          <ActionForm
            action={createRole}
            label="Create role"
            submit={async () => {
              const granted = rolePermissions.split(",").map((name) => name.trim()).filter(Boolean);
              if (await createRole.run(() => session.api.rbac.createRole({ role: { name: roleName, permissions: granted }, requestId: crypto.randomUUID() }))) {
                setRoleName("");
                setRolePermissions("");
                roles.reload();
                permissions.reload();
              }
            }}
          >
            <Input label="Role name" name="role-name" required value={roleName} onValue={setRoleName} />
            <Input label="Its permissions" hint="Names separated by commas" name="role-permissions" value={rolePermissions} onValue={setRolePermissions} />
          </ActionForm>
        </Section>
      ) : null}
      <Section title="Roles">
        <Refusal error={roles.error ?? change.error} />
        <Table
          label="Roles"
          head={["Name", "Permissions", "Created", ""]}
          empty="No roles."
          rows={(roles.data?.roles ?? []).map((role) => [
            role.name,
            role.permissions.join(", ") || "—",
            formatTime(role.createdAt),
            manage ? (
              <button type="button" class="danger" aria-label={`Delete role ${role.name}`} onClick={async () => confirm(`Delete role ${role.name}?`) && (await change.run(() => session.api.rbac.deleteRole({ id: role.id }))) && roles.reload()}>
                Delete
              </button>
            ) : (
              ""
            ),
          ])}
        />
      </Section>
      <Section title="Permissions">
        <Refusal error={permissions.error} />
        <Table
          label="Permissions"
          head={["Name", "Description", "Created", ""]}
          empty="No permissions."
          rows={(permissions.data?.permissions ?? []).map((permission) => [
            permission.name,
            permission.description || "—",
            formatTime(permission.createdAt),
            manage ? (
              <button type="button" class="danger" aria-label={`Delete permission ${permission.name}`} onClick={async () => confirm(`Delete permission ${permission.name}?`) && (await change.run(() => session.api.rbac.deletePermission({ id: permission.id }))) && permissions.reload()}>
                Delete
              </button>
            ) : (
              ""
            ),
          ])}
        />
      </Section>
    </>
  );
}
