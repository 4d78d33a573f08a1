import { useState } from "preact/hooks";
import { href } from "../router.js";
import type { Session } from "../session.js";
import { ActionForm, formatTime, Pager, Refusal, Section, Table, useAction, useLoad, usePages, Input } from "../ui.js";

export function Keyspaces({ session }: { session: Session }) {
  const pager = usePages();
  const list = useLoad(() => session.api.keyspaces.listKeyspaces({ pageSize: 50, pageToken: pager.token }), [pager.token]);
  const [name, setName] = useState("");
  const [prefix, setPrefix] = useState("");
  const create = useAction();
  const submit = async () => {
    const created = await create.run(() => session.api.keyspaces.createKeyspace({ keyspace: { name, defaultPrefix: prefix }, requestId: crypto.randomUUID() }));
    if (created) {
      setName("");
      setPrefix("");
      list.reload();
    }
  };
  return (
    <>
      <h1>Keyspaces</h1>
      {session.may("keyspace.create") ? (
        <Section title="Create a keyspace">
          <ActionForm action={create} label="Create keyspace" submit={submit}>
            <Input label="Name" name="keyspace-name" required value={name} onValue={setName} />
            <Input label="Default prefix" hint="Optional, such as sk" name="keyspace-prefix" value={prefix} onValue={setPrefix} />
          </ActionForm>
        </Section>
      ) : null}
      <Section title="Keyspaces">
        <Refusal error={list.error} />
        <Table
          label="Keyspaces"
          head={["Name", "Id", "Prefix", "Recoverable", "Created"]}
          empty="No keyspaces this root key may see."
          rows={(list.data?.keyspaces ?? []).map((keyspace) => [
            <a href={href("keyspaces", keyspace.id)}>{keyspace.name}</a>,
            <code>{keyspace.id}</code>,
            keyspace.defaultPrefix || "—",
            keyspace.recoverable ? "yes" : "no",
            formatTime(keyspace.createdAt),
          ])}
        />
        <Pager pager={pager} nextToken={list.data?.nextPageToken} />
      </Section>
    </>
  );
}
