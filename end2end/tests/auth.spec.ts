import { test, expect, newPerson, open, expectAccessible, signUp, signIn, signOut } from "./fixtures";

test("sign up, land on Settings → Account, sign out, sign back in", async ({ page }) => {
  const person = newPerson();

  await open(page, "/signup");
  await expect(page.getByRole("heading", { name: "Create account" })).toBeVisible();
  await expectAccessible(page);

  await signUp(page, person);
  await expect(page.getByRole("heading", { name: "Account", level: 1 })).toBeVisible();
  const profile = page.getByRole("region", { name: "Your profile" });
  await expect(profile.getByLabel("First name")).toHaveValue(person.firstName);
  await expect(profile.getByLabel("Last name")).toHaveValue(person.lastName);
  await expect(page.getByRole("region", { name: "Email" }).getByText(person.email)).toBeVisible();
  await expect(page.getByLabel(`Account menu for ${person.firstName} ${person.lastName}`)).toBeVisible();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expectAccessible(page);

  // "Click your avatar in the top-right corner, then Sign out."
  await signOut(page);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expectAccessible(page);

  // "You can sign back in from the login page."
  await open(page, "/login");
  await signIn(page, person.email, person.password);
  await expect(page).toHaveURL(/\/settings\/account$/);
  await expect(page.getByRole("region", { name: "Email" }).getByText(person.email)).toBeVisible();
});

test("a wrong password says so, without revealing whether the account exists", async ({ page }) => {
  const person = newPerson();
  await signUp(page, person);
  await signOut(page);

  await open(page, "/login");
  await signIn(page, person.email, "not my password at all");
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");
  await expect(page).toHaveURL(/\/login$/);
  await expectAccessible(page);

  // An unknown address gets the very same message (after the throttle's short wait).
  await page.waitForTimeout(1100);
  await signIn(page, `nobody.${Date.now()}@example.com`, "not my password at all");
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");
});

test("bad sign-up input is explained next to each field", async ({ page }) => {
  await open(page, "/signup");
  await page.getByLabel("First name").fill("Ana");
  await page.getByLabel("Last name").fill("Lopez");
  await page.getByLabel("Work email").fill("ana@localhost");
  await page.getByLabel("Password").fill("too short");
  await page.getByLabel("Organisation name").fill("Northwind");
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page.getByText("Enter an email address in the form name@example.com.")).toBeVisible();
  await expect(page.getByText("Use at least 12 characters.")).toBeVisible();
  await expect(page.getByLabel("Work email")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("First name")).not.toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page);
});

test("a signed-out visitor is sent to sign in and brought back afterwards", async ({ page }) => {
  const person = newPerson();
  await signUp(page, person);
  await signOut(page);

  await page.goto("/settings/team");
  await expect(page).toHaveURL(/\/login\?next=\/settings\/team$/);
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expectAccessible(page);
  await signIn(page, person.email, person.password);
  await expect(page).toHaveURL(/\/settings\/team$/);
  await expect(page.getByRole("heading", { name: "Team & roles" })).toBeVisible();
  await expect(page.getByRole("cell", { name: /Ana Lopez/ })).toBeVisible();
  await expect(page.getByRole("cell", { name: "Owner" })).toBeVisible();
  await expectAccessible(page);

  // Navigation between the settings pages.
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Account" }).click();
  await expect(page).toHaveURL(/\/settings\/account$/);
  await expect(page.getByRole("heading", { name: "Your profile" })).toBeVisible();
});

test("unknown pages say so", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expectAccessible(page);
});
