import { test, expect, newPerson, open, expectAccessible, signUp, signIn } from "./fixtures";

const NEW_PASSWORD = "violet submarine at dawn";

test("change password on one device: it stays signed in, the other is sent to sign in", async ({ page, browser }) => {
  const person = newPerson();
  await signUp(page, person);

  // A second device, signed in too.
  const other = await browser.newContext();
  const phone = await other.newPage();
  await open(phone, "/login");
  await signIn(phone, person.email, person.password);
  await expect(phone).toHaveURL(/\/settings\/account$/);
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  const sessions = page.getByRole("region", { name: "Sessions" });
  await expect(sessions.getByRole("listitem")).toHaveCount(2);

  const section = page.getByRole("region", { name: "Password" });
  await section.getByRole("button", { name: "Change password" }).click();
  await section.getByLabel("Current password").fill(person.password);
  await section.getByLabel("New password", { exact: true }).fill("short");
  await expect(section.getByText("Use at least 12 characters.").first()).toBeVisible();
  await section.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await expect(section.getByText(/^Strength: (Good|Strong)$/)).toBeVisible();
  // The two new fields are compared before anything is sent.
  await section.getByLabel("Confirm new password").fill(`${NEW_PASSWORD}!`);
  await expect(section.getByText("The two new passwords don't match.")).toBeVisible();
  await expect(section.getByRole("button", { name: "Save" })).toBeDisabled();
  await section.getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await expectAccessible(page);
  await section.getByRole("button", { name: "Save" }).click();
  await expect(section.getByRole("status")).toContainText("Your password was changed.");
  // The lists below catch up without a reload: the phone's session is gone, the change is
  // at the top of the activity.
  await expect(sessions.getByRole("listitem")).toHaveCount(1);
  await expect(sessions.getByText("This device")).toBeVisible();
  const activity = page.getByRole("region", { name: "Recent security activity" });
  await expect(activity.getByRole("row").nth(1)).toContainText("Password changed");

  // "You stay signed in on this device."
  await page.reload();
  await expect(page).toHaveURL(/\/settings\/account$/);
  await expect(page.getByRole("heading", { name: "Account", level: 1 })).toBeVisible();

  // "Other devices may ask you to sign in again with the new password."
  await phone.reload();
  await expect(phone).toHaveURL(/\/login\?/);
  await expect(phone.getByText("Your password was changed. Sign in again.")).toBeVisible();
  await expectAccessible(phone);
  await signIn(phone, person.email, NEW_PASSWORD);
  await expect(phone).toHaveURL(/\/settings\/account$/);
  await other.close();
});

test("sign out another session from the list, confirming the password inline", async ({ page, browser }) => {
  const person = newPerson();
  await signUp(page, person);
  const other = await browser.newContext({ userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0" });
  const laptop = await other.newPage();
  await open(laptop, "/login");
  await signIn(laptop, person.email, person.password);
  await expect(laptop).toHaveURL(/\/settings\/account$/);

  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  const sessions = page.getByRole("region", { name: "Sessions" });
  await expect(sessions.getByText("This device")).toBeVisible();
  await expect(sessions.getByText("Firefox on Linux")).toBeVisible();
  await expectAccessible(page);

  // The sudo window (3 s in this suite) has passed: the password is asked for inline.
  await page.waitForTimeout(3500);
  await sessions.getByRole("button", { name: "Sign out Firefox on Linux" }).click();
  const prompt = sessions.getByRole("group", { name: "Confirm it's you" });
  await expect(prompt).toBeVisible();
  await expectAccessible(page);
  await prompt.getByLabel("Password").fill(person.password);
  await prompt.getByRole("button", { name: "Continue" }).click();
  await expect(sessions.getByRole("status")).toHaveText("The session was signed out.");
  await expect(sessions.getByText("Firefox on Linux")).toHaveCount(0);

  // The other device is out, and is told why.
  await laptop.reload();
  await expect(laptop.getByText("You were signed out from another device. Sign in again to continue.")).toBeVisible();
  await other.close();
});

test("recent security activity lists what happened, newest first", async ({ page }) => {
  const person = newPerson();
  await signUp(page, person);
  const profile = page.getByRole("region", { name: "Your profile" });
  await profile.getByLabel("First name").fill("Zoë");
  await profile.getByRole("button", { name: "Save" }).click();
  await expect(profile.getByRole("status").filter({ hasText: "saved" })).toBeVisible();

  await page.reload();
  const activity = page.getByRole("region", { name: "Recent security activity" });
  const rows = activity.getByRole("row");
  await expect(rows.nth(1)).toContainText("Name changed");
  await expect(rows.nth(2)).toContainText("Signed in");
  await expect(rows.nth(3)).toContainText("Account created");
  await expect(rows.nth(1).locator("time")).toHaveAttribute("datetime", /^\d{4}-\d{2}-\d{2}T/);
  await expectAccessible(page);
});
