import { VerifyCode, type VerifyKeyResponse } from "@latchkey/client/web";
import { useState } from "preact/hooks";
import type { Session } from "../session.js";
import { ActionForm, Section, useAction, Input } from "../ui.js";

/** Verifies a key as a service would, and shows the whole answer. Verifying counts, spends credits and uses rate limits. */
export function VerifyPlayground({ session }: { session: Session }) {
  const [key, setKey] = useState("");
  const [permissionQuery, setPermissionQuery] = useState("");
  const [answer, setAnswer] = useState<VerifyKeyResponse>();
  const verify = useAction();
  return (
    <>
      <h1>Verify a key</h1>
      <Section title="Verify">
        <p class="muted">A verification here is real: it is counted, spends a credit and uses the key's rate limits.</p>
        <ActionForm
          action={verify}
          label="Verify"
          submit={async () => {
            setAnswer(await verify.run(() => session.api.verify.verifyKey({ key, permissionQuery })));
          }}
        >
          <Input label="Key" name="verify-key" required autoComplete="off" value={key} onValue={setKey} />
          <Input label="Permission query" hint="Optional, such as documents.read AND documents.write" name="verify-permission-query" value={permissionQuery} onValue={setPermissionQuery} />
        </ActionForm>
        {answer ? (
          <div role="status">
            <p class={answer.valid ? "verdict valid" : "verdict refused"} data-testid="verdict">
              {VerifyCode[answer.code]}
            </p>
            <pre class="answer">{JSON.stringify(answer, (_name, value) => (typeof value === "bigint" ? String(value) : value), 2)}</pre>
          </div>
        ) : null}
      </Section>
    </>
  );
}
