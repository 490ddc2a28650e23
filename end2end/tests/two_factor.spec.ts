import { readFileSync } from "node:fs";
import { type Locator, type Page } from "@playwright/test";
import { test, expect, newPerson, open, expectAccessible, signUp, signIn, signOut, type Person } from "./fixtures";
import { Authenticator, decodeQr } from "./totp";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

function twoFactorSection(page: Page): Locator {
  return page.getByRole("region", { name: "Two-factor authentication" });
}

/** The wizard's step indicator says which step is current. */
async function expectStep(section: Locator, heading: string, number: number) {
  await expect(section.getByRole("heading", { name: heading, level: 3 })).toBeFocused();
  await expect(section.locator('.steps li[aria-current="step"]')).toContainText(`Step ${number} of 4`);
}

/** Enrols from Settings → Account with the wizard and returns the app and the codes. */
async function enrol(page: Page, person: Person) {
  const section = twoFactorSection(page);
  await section.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await section.getByRole("button", { name: "Next" }).click();
  const scan = section.getByRole("heading", { name: "Scan the QR code" });
  const prompt = section.getByRole("group", { name: "Confirm it's you" });
  await expect(scan.or(prompt)).toBeVisible();
  if (await prompt.isVisible()) {
    await prompt.getByLabel("Password").fill(person.password);
    await prompt.getByRole("button", { name: "Continue" }).click();
  }
  await expect(scan).toBeVisible();
  const app = new Authenticator((await section.locator("[data-otpauth]").getAttribute("data-otpauth"))!);
  await section.getByRole("button", { name: "Next" }).click();
  await section.getByLabel("Enter the 6-digit code from the app").fill(await app.fresh());
  await section.getByRole("button", { name: "Save" }).click();
  await expect(section.locator(".recovery-codes code")).toHaveCount(10);
  const codes = await section.locator(".recovery-codes code").allTextContents();
  await section.getByLabel("I have saved these codes").check();
  await section.getByRole("button", { name: "Done" }).click();
  await expect(section.getByText("You have 10 recovery codes left.")).toBeVisible();
  return { app, codes };
}

test("enrol with the wizard, then sign in with a code and with a recovery code", async ({ page }) => {
  test.setTimeout(60_000);
  const person = newPerson();
  await signUp(page, person);
  const section = twoFactorSection(page);
  await expect(section.getByText("Add a second step to signing in")).toBeVisible();

  // Step 1: what it is and which apps work.
  await section.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await expectStep(section, "Get an authenticator app", 1);
  await expect(section.getByText("Google Authenticator, Microsoft Authenticator, 1Password or Authy")).toBeVisible();
  await expectAccessible(page);

  // The password was entered more than the sudo window (3 s here) ago: it is asked for
  // right inside the wizard, which then carries on.
  await page.waitForTimeout(3500);
  await section.getByRole("button", { name: "Next" }).click();
  const prompt = section.getByRole("group", { name: "Confirm it's you" });
  await expect(prompt).toBeVisible();
  await prompt.getByLabel("Password").fill(person.password);
  await prompt.getByRole("button", { name: "Continue" }).click();

  // Step 2: the QR code, drawn in the page as SVG, and the key to type by hand.
  await expectStep(section, "Scan the QR code", 2);
  const qr = section.getByRole("img", { name: "QR code for adding ImportOps to your authenticator app" });
  await expect(qr).toBeVisible();
  expect(await qr.evaluate((element) => element.tagName)).toBe("svg");
  const uri = (await qr.getAttribute("data-otpauth"))!;
  // What a phone's camera reads from the drawing is exactly that URI.
  expect(decodeQr(await qr.screenshot())).toBe(uri);
  const url = new URL(uri);
  expect(decodeURIComponent(url.pathname)).toBe(`/ImportOps:${person.email}`);
  expect(url.searchParams.get("issuer")).toBe("ImportOps");
  const secret = url.searchParams.get("secret")!;
  expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
  const key = (await section.locator("#two-factor-key").textContent())!;
  expect(key.split(" ").every((group) => group.length === 4)).toBe(true);
  expect(key.replaceAll(" ", "")).toBe(secret);
  await section.getByRole("button", { name: "Copy key" }).click();
  await expect(section.getByText("Copied.")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await expectAccessible(page);

  // Back keeps the same key; the app may already have it.
  await section.getByRole("button", { name: "Back" }).click();
  await expectStep(section, "Get an authenticator app", 1);
  await section.getByRole("button", { name: "Next" }).click();
  await expectStep(section, "Scan the QR code", 2);
  expect(await section.locator("[data-otpauth]").getAttribute("data-otpauth")).toBe(uri);
  await section.getByRole("button", { name: "Next" }).click();

  // Step 3: a wrong code is refused with a reason, the right one turns it on.
  await expectStep(section, "Enter the code from the app", 3);
  const app = new Authenticator(uri);
  const codeField = section.getByLabel("Enter the 6-digit code from the app");
  await expect(codeField).toHaveAttribute("inputmode", "numeric");
  await expect(codeField).toHaveAttribute("autocomplete", "one-time-code");
  await codeField.fill("12345");
  await section.getByRole("button", { name: "Save" }).click();
  await expect(section.getByText("The code is 6 digits.")).toBeVisible();
  await codeField.fill(app.code(app.step() - 5));
  await section.getByRole("button", { name: "Save" }).click();
  await expect(section.getByText("That code didn't work.")).toBeVisible();
  await expectAccessible(page);
  const confirmingCode = await app.fresh();
  await codeField.fill(confirmingCode);
  await section.getByRole("button", { name: "Save" }).click();

  // Step 4: ten recovery codes, shown once, with Copy, Download and Print.
  await expectStep(section, "Save your recovery codes", 4);
  await expect(section.locator(".recovery-codes code")).toHaveCount(10);
  const codes = await section.locator(".recovery-codes code").allTextContents();
  expect(codes).toHaveLength(10);
  expect(new Set(codes).size).toBe(10);
  await section.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(section.getByText("Copied.")).toBeVisible();
  expect((await page.evaluate(() => navigator.clipboard.readText())).split("\n")).toEqual(codes);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    section.getByRole("button", { name: "Download" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("importops-recovery-codes.txt");
  const saved = readFileSync((await download.path())!, "utf8");
  for (const code of codes) expect(saved).toContain(code);
  await expect(section.getByRole("button", { name: "Print" })).toBeVisible();
  const done = section.getByRole("button", { name: "Done" });
  await expect(done).toBeDisabled();
  await expectAccessible(page);
  await section.getByLabel("I have saved these codes").check();
  await done.click();
  await expect(section.getByText("Two-factor authentication is on.")).toBeVisible();
  await expect(section.getByText("You have 10 recovery codes left.")).toBeVisible();

  // Signing in now asks for a code after the password; nothing else opens meanwhile.
  await signOut(page);
  await signIn(page, person.email, person.password);
  await expect(page).toHaveURL(/\/login\/two-factor\?next=/);
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  await expectAccessible(page);
  await open(page, "/settings/account");
  await expect(page).toHaveURL(/\/login\/two-factor\?next=%2Fsettings%2Faccount|\/login\/two-factor\?next=\/settings\/account/);

  // The code that confirmed the set-up was used once and is refused now.
  const codeInput = page.getByLabel("Authentication code");
  await expect(codeInput).toHaveAttribute("autocomplete", "one-time-code");
  await codeInput.fill(confirmingCode);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByText("That code was already used.")).toBeVisible();
  // The next code from the app gets in.
  await codeInput.fill(await app.fresh());
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/settings\/account$/);

  // Lost phone: a recovery code instead, once.
  await signOut(page);
  await signIn(page, person.email, person.password);
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await page.getByRole("link", { name: "Use a recovery code instead" }).click();
  await page.getByLabel("Recovery code").fill(codes[0]);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/settings\/account$/);
  await expect(twoFactorSection(page).getByText("You have 9 recovery codes left.")).toBeVisible();

  await signOut(page);
  await signIn(page, person.email, person.password);
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await page.getByRole("link", { name: "Use a recovery code instead" }).click();
  await page.getByLabel("Recovery code").fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByText("That recovery code didn't work.")).toBeVisible();

  // "Sign out" leaves the half-finished sign-in.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await open(page, "/login/two-factor");
  await expect(page).toHaveURL(/\/login$/);
});

test("regenerate recovery codes, then disable two-factor authentication", async ({ page }) => {
  test.setTimeout(90_000);
  const person = newPerson();
  await signUp(page, person);
  const { app, codes } = await enrol(page, person);
  const section = twoFactorSection(page);
  await expect(section.getByText("On", { exact: true })).toBeVisible();
  await expectAccessible(page);

  // Regenerating (after the sudo window) asks for the password, then shows ten new codes.
  await page.waitForTimeout(3500);
  await section.getByRole("button", { name: "Regenerate recovery codes" }).click();
  const prompt = section.getByRole("group", { name: "Confirm it's you" });
  await prompt.getByLabel("Password").fill(person.password);
  await prompt.getByRole("button", { name: "Continue" }).click();
  await expect(section.locator(".recovery-codes code")).toHaveCount(10);
  const fresh = await section.locator(".recovery-codes code").allTextContents();
  expect(fresh).toHaveLength(10);
  expect(fresh.filter((code) => codes.includes(code))).toEqual([]);
  await section.getByLabel("I have saved these codes").check();
  await section.getByRole("button", { name: "Done" }).click();
  await expect(section.getByText("Your new recovery codes are saved.")).toBeVisible();
  await expect(section.getByText("You have 10 recovery codes left.")).toBeVisible();

  // With two-factor authentication on, "Change password" also asks for a code.
  const passwordSection = page.getByRole("region", { name: "Password" });
  await passwordSection.getByRole("button", { name: "Change password" }).click();
  await passwordSection.getByLabel("Current password").fill(person.password);
  const newPassword = "a brand new passphrase for 2fa";
  await passwordSection.getByLabel("New password", { exact: true }).fill(newPassword);
  await passwordSection.getByLabel("Confirm new password").fill(newPassword);
  const passwordCode = passwordSection.getByLabel("Code from your authenticator app");
  await expect(passwordCode).toHaveAttribute("autocomplete", "one-time-code");
  await passwordSection.getByRole("button", { name: "Save" }).click();
  await expect(passwordSection.getByText("Enter the 6-digit code from your authenticator app.")).toBeVisible();
  await passwordCode.fill(await app.fresh());
  await passwordSection.getByRole("button", { name: "Save" }).click();
  await expect(passwordSection.getByRole("status")).toContainText("Your password was changed.");
  person.password = newPassword;

  // Turning it off needs the password and a current code.
  await section.getByRole("button", { name: "Disable two-factor authentication" }).click();
  await section.getByLabel("Password").fill("not the password at all");
  await section.getByLabel("Code from your authenticator app").fill(await app.fresh());
  await section.getByRole("button", { name: "Disable two-factor authentication" }).click();
  await expect(section.getByText("That is not your current password.")).toBeVisible();
  // A wrong password makes the next try wait a second, as at sign-in.
  await page.waitForTimeout(1100);
  await section.getByLabel("Password").fill(person.password);
  await section.getByRole("button", { name: "Disable two-factor authentication" }).click();
  await expect(section.getByText("Two-factor authentication is off.")).toBeVisible();
  await expect(section.getByRole("button", { name: "Set up two-factor authentication" })).toBeVisible();
  await expectAccessible(page);

  // Signing in needs only the password again.
  await signOut(page);
  await signIn(page, person.email, person.password);
  await expect(page).toHaveURL(/\/settings\/account$/);
});
