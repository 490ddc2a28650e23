import { test as base, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

let counter = 0;

/** Someone who signs up during a test; every address is unique. */
export function newPerson() {
  counter += 1;
  const id = `${Date.now().toString(36)}${process.pid}${counter}`;
  return {
    firstName: "Ana",
    lastName: "Lopez",
    email: `ana.${id}@example.com`,
    password: "copper kettle on the hill",
    organisation: "Northwind Imports",
  };
}

export type Person = ReturnType<typeof newPerson>;

/**
 * Every test fails on a console error in the page: a hydration mismatch, a blocked
 * script (CSP) or a server error all show up there. Chromium also reports each 4xx
 * answer as a failed resource; those are the server refusing bad input on purpose, and
 * the tests check what the page makes of them.
 */
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      const expectedRefusal = /^Failed to load resource: the server responded with a status of 4\d\d/;
      page.on("console", (message) => {
        if (message.type() === "error" && !expectedRefusal.test(message.text())) {
          errors.push(message.text());
        }
      });
      page.on("pageerror", (error) => errors.push(error.message));
      await use(errors);
      expect(errors, "console errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Opens a page and waits until its script has taken over. */
export async function open(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

/**
 * Checks the page with axe in the light and the dark theme: no accessibility violations at
 * all (contrast differs between the two).
 */
export async function expectAccessible(page: Page) {
  const summary: string[] = [];
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page }).analyze();
    summary.push(
      ...results.violations.map(
        (v) =>
          `${colorScheme}: ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
      ),
    );
  }
  await page.emulateMedia({ colorScheme: null });
  expect(summary, "accessibility violations").toEqual([]);
}

export async function signUp(page: Page, person: Person) {
  await open(page, "/signup");
  await page.getByLabel("First name").fill(person.firstName);
  await page.getByLabel("Last name").fill(person.lastName);
  await page.getByLabel("Work email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByLabel("Organisation name").fill(person.organisation);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/settings\/account$/);
  // The account page is a new document: a click before its script takes over is lost.
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

export async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function signOut(page: Page) {
  await page.getByLabel(/^Account menu for/).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}
