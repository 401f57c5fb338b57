import { Code, ProfileType, connect, details } from "@contacts-facade/client";

const client = connect(process.env.CONTACTS_ADDR ?? "localhost:50051", { insecure: true });
const { contacts } = await client.listContacts({ propertyId: "1000001" }, { timeoutMs: 10_000 });
for (const c of contacts) console.log(c.contactPerson?.name, c.profiles.map((p) => ProfileType[p]));
try {
  await client.replaceContacts({ propertyId: "1000001", contacts: [{ email: "x" }] }, { timeoutMs: 10_000 });
} catch (err) {
  const d = details(err);
  console.log(Code[d.code], d.reason, "OTA", d.otaCode);
  for (const v of d.fieldViolations) console.log("fix", v.field, v.reason);
}
