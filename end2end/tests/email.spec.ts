import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { test, expect, newPerson, open, expectAccessible, signUp, signIn, signOut } from "./fixtures";

const outbox = join(process.env.E2E_DATA_DIR ?? "target/e2e-data", "outbox");

/** Decodes one MIME body according to its Content-Transfer-Encoding. */
function decodeBody(body: string, encoding: string): string {
  switch (encoding.toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    case "quoted-printable": {
      const bytes = body
        .replace(/=\r?\n/g, "")
        .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, "latin1").toString("utf8");
    }
    default:
      return body;
  }
}

/** The plain-text part of the newest message to `address` in the outbox folder. */
async function newestMailTo(address: string): Promise<string> {
  let found: string | undefined;
  await expect
    .poll(() => {
      const files = readdirSync(outbox)
        .filter((name) => name.endsWith(".eml"))
        .map((name) => join(outbox, name))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      for (const file of files) {
        const raw = readFileSync(file, "utf8");
        const headers = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
        if (!new RegExp(`^To:.*${address.replace(/[.+]/g, "\\$&")}`, "mi").test(headers)) continue;
        const boundary = /boundary="?([^";\r\n]+)"?/i.exec(headers)?.[1];
        const parts = boundary ? raw.split(`--${boundary}`) : [raw];
        for (const part of parts) {
          const [head, ...rest] = part.split(/\r?\n\r?\n/);
          if (!/Content-Type:\s*text\/plain/i.test(head)) continue;
          const encoding = /Content-Transfer-Encoding:\s*([\w-]+)/i.exec(head)?.[1] ?? "7bit";
          found = decodeBody(rest.join("\n\n"), encoding);
          return true;
        }
      }
      return false;
    }, { timeout: 10_000, message: `a message to ${address} in ${outbox}` })
    .toBe(true);
  return found!;
}

function linkIn(text: string, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path}\\?token=[A-Za-z0-9_-]+`).exec(text);
  expect(match, `a link to ${path} in:\n${text}`).not.toBeNull();
  return match![0];
}

async function requestChange(page: Page, password: string, newEmail: string) {
  const section = page.getByRole("region", { name: "Email" });
  await section.getByRole("button", { name: "Change email" }).click();
  await section.getByLabel("Current password").fill(password);
  await section.getByLabel("New email").fill(newEmail);
  await section.getByRole("button", { name: "Confirm" }).click();
}

test("change email: confirm from the link, then sign in with the new address", async ({ page }) => {
  const person = newPerson();
  const newEmail = `new.${person.email}`;
  await signUp(page, person);

  await requestChange(page, person.password, newEmail);
  const section = page.getByRole("region", { name: "Email" });
  await expect(section.getByText(`Pending: confirmation sent to ${newEmail}`)).toBeVisible();
  await expect(section.getByRole("status")).toContainText(`We sent a confirmation link to ${newEmail}`);
  await expect(section.getByText(`You sign in with ${person.email}.`)).toBeVisible();
  await expectAccessible(page);

  // The link works on any device: open it signed out, in a fresh context.
  const link = linkIn(await newestMailTo(newEmail), "/account/email/confirm");
  const elsewhere = await page.context().browser()!.newContext();
  const other = await elsewhere.newPage();
  await other.goto(link);
  await expect(other.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(other.getByText(`From now on, sign in to ImportOps with ${newEmail}?`)).toBeVisible();
  await expectAccessible(other);
  await other.getByRole("button", { name: "Confirm email change" }).click();
  await expect(other.getByRole("status")).toContainText(`You now sign in with ${newEmail}.`);
  await elsewhere.close();

  // The old address is told, and can no longer sign in; the new one can.
  const notice = await newestMailTo(person.email);
  expect(notice).toContain("This wasn't me");
  await open(page, "/settings/account");
  await signOut(page);
  await open(page, "/login");
  await signIn(page, person.email, person.password);
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");
  await page.waitForTimeout(1100);
  await signIn(page, newEmail, person.password);
  await expect(page).toHaveURL(/\/settings\/account$/);
  await expect(page.getByRole("region", { name: "Email" }).getByText(`You sign in with ${newEmail}.`)).toBeVisible();
});

test("a wrong password and a bad address are explained next to the fields", async ({ page }) => {
  const person = newPerson();
  await signUp(page, person);
  await requestChange(page, "not my password", `x.${person.email}`);
  const section = page.getByRole("region", { name: "Email" });
  await expect(section.getByText("That is not your current password.")).toBeVisible();
  await expect(section.getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");

  await page.waitForTimeout(1100);
  await section.getByLabel("Current password").fill(person.password);
  await section.getByLabel("New email").fill("nobody@localhost");
  await section.getByRole("button", { name: "Confirm" }).click();
  await expect(section.getByText("Enter an email address in the form name@example.com.")).toBeVisible();
  await expectAccessible(page);
});

test("a pending change can be resent and cancelled; an old link then explains itself", async ({ page }) => {
  const person = newPerson();
  const newEmail = `pending.${person.email}`;
  await signUp(page, person);
  await requestChange(page, person.password, newEmail);
  const section = page.getByRole("region", { name: "Email" });
  await expect(section.getByText(`Pending: confirmation sent to ${newEmail}`)).toBeVisible();
  const firstLink = linkIn(await newestMailTo(newEmail), "/account/email/confirm");

  await section.getByRole("button", { name: "Resend" }).click();
  await expect(section.getByRole("status")).toHaveText(`We sent a new confirmation link to ${newEmail}.`);
  await section.getByRole("button", { name: "Cancel" }).click();
  await expect(section.getByRole("status")).toHaveText("The email change was cancelled.");
  await expect(section.getByText("Pending:")).toHaveCount(0);

  await page.goto(firstLink);
  await expect(page.getByRole("alert")).toContainText("This link is no longer valid");
  await expect(page.getByRole("link", { name: "Go to Settings → Account" })).toBeVisible();
  await expectAccessible(page);
});

test("a dead undo link sends its holder to sign in or to an admin, not to settings", async ({ page }) => {
  await open(page, "/account/email/revert?token=not-a-real-token");
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("This link no longer works");
  await expect(alert).toContainText("ask an admin of your organisation");
  await expect(page.getByRole("link", { name: "Sign in", exact: true })).toHaveAttribute("href", "/login");
  await expect(page.getByRole("link", { name: "Go to Settings → Account" })).toHaveCount(0);
  await expectAccessible(page);
});
