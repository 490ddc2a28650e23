import type { Page } from "@playwright/test";
import { test, expect, newPerson, open, expectAccessible, signUp } from "./fixtures";

/** Draws a picture in the page and returns it as PNG bytes (no fixture files needed). */
async function drawPicture(page: Page, width: number, height: number, noisy = false): Promise<Buffer> {
  const dataUrl = await page.evaluate(
    ({ width, height, noisy }) => {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d")!;
      context.fillStyle = "#1f6feb";
      context.fillRect(0, 0, width, height);
      context.fillStyle = "#f2cc60";
      context.fillRect(width / 2 - height / 4, height / 4, height / 2, height / 2);
      if (noisy) {
        // Noise does not compress, so the upload is large enough to watch it progress.
        const image = context.getImageData(0, 0, width, height);
        for (let i = 0; i < image.data.length; i += 4) {
          image.data[i] = (image.data[i] + Math.random() * 60) | 0;
        }
        context.putImageData(image, 0, 0);
      }
      return canvas.toDataURL("image/png");
    },
    { width, height, noisy },
  );
  return Buffer.from(dataUrl.split(",")[1], "base64");
}

test("edit names, Save, and see them in the top bar at once and after a reload", async ({ page }) => {
  await signUp(page, newPerson());
  const profile = page.getByRole("region", { name: "Your profile" });

  await profile.getByLabel("First name").fill("  Zoë ");
  await profile.getByLabel("Last name").fill("Ñúñez 李");
  await profile.getByRole("button", { name: "Save" }).click();

  await expect(profile.getByRole("status").filter({ hasText: "Your profile was saved." })).toBeVisible();
  await expect(page.getByLabel("Account menu for Zoë Ñúñez 李")).toBeVisible();
  await expectAccessible(page);

  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(profile.getByLabel("First name")).toHaveValue("Zoë");
  await expect(profile.getByLabel("Last name")).toHaveValue("Ñúñez 李");
});

test("a name that is too long is explained next to the field", async ({ page }) => {
  await signUp(page, newPerson());
  const profile = page.getByRole("region", { name: "Your profile" });
  await profile.getByLabel("Last name").fill("x".repeat(101));
  await profile.getByRole("button", { name: "Save" }).click();
  await expect(profile.getByText("Use at most 100 characters for your last name.")).toBeVisible();
  await expect(profile.getByLabel("Last name")).toHaveAttribute("aria-invalid", "true");
  // Focus moves to the field, so a screen reader reads its label and the message together.
  await expect(profile.getByLabel("Last name")).toBeFocused();
  await page.reload();
  await expect(profile.getByLabel("Last name")).toHaveValue("Lopez");
});

test("upload an avatar: square preview first, real progress, then the new avatar everywhere", async ({ page }) => {
  await signUp(page, newPerson());
  const picture = await drawPicture(page, 1200, 800, true);

  await page.locator("#avatar-file").setInputFiles({ name: "holiday.png", mimeType: "image/png", buffer: picture });
  const preview = page.getByRole("img", { name: /Preview of your new avatar/ });
  await expect(preview).toBeVisible();
  // The preview is the centred square the server will keep.
  const box = await preview.boundingBox();
  expect(box && Math.abs(box.width - box.height)).toBeLessThan(1);
  expect(await preview.evaluate((img) => getComputedStyle(img).objectFit)).toBe("cover");
  await expectAccessible(page);

  // Slow the upload down so its progress can be seen.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 20,
    downloadThroughput: -1,
    uploadThroughput: 512 * 1024,
  });
  const seen: number[] = [];
  await page.getByRole("button", { name: "Save avatar" }).click();
  const progress = page.getByRole("progressbar", { name: "Uploading avatar" });
  await expect(progress).toBeVisible();
  for (let i = 0; i < 20 && (await progress.count()) > 0; i++) {
    // The bar may go away between the two calls: don't wait for it to come back.
    const value = await progress.getAttribute("value", { timeout: 200 }).catch(() => null);
    if (value !== null) seen.push(Number(value));
    await page.waitForTimeout(100);
  }
  expect(seen.some((value) => value > 0 && value < 100), `progress values ${seen}`).toBe(true);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });

  await expect(page.getByRole("status").filter({ hasText: "Avatar updated." })).toBeVisible();
  const menuAvatar = page.locator(".user-menu-button img");
  await expect(menuAvatar).toHaveAttribute("src", /^\/avatars\/[0-9a-f]{64}\.jpg$/);
  await expect
    .poll(() => menuAvatar.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBe(256);
  await expect(page.getByRole("button", { name: "Replace avatar" })).toBeVisible();

  // It is there after a reload, and in Team & roles.
  await page.goto("/settings/team");
  await expect(page.locator(".member img")).toHaveAttribute("src", /^\/avatars\/[0-9a-f]{64}\.jpg$/);

  // "Remove avatar" returns to initials.
  await open(page, "/settings/account");
  await page.getByRole("button", { name: "Remove avatar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Avatar removed." })).toBeVisible();
  await expect(page.locator(".user-menu-button img")).toHaveCount(0);
  await expect(page.locator(".user-menu-button .avatar")).toHaveText("AL");
});

test("drag and drop works too", async ({ page }) => {
  await signUp(page, newPerson());
  const picture = await drawPicture(page, 300, 500);
  const drop = await page.evaluateHandle((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "portrait.png", { type: "image/png" }));
    return transfer;
  }, picture.toString("base64"));
  await page.locator(".avatar-editor").dispatchEvent("drop", { dataTransfer: drop });
  await expect(page.getByRole("img", { name: /Preview of your new avatar/ })).toBeVisible();
  await page.getByRole("button", { name: "Save avatar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Avatar updated." })).toBeVisible();
});

test("a file that is not an image is refused with a clear message and changes nothing", async ({ page }) => {
  await signUp(page, newPerson());
  await page.locator("#avatar-file").setInputFiles({
    name: "notes.jpg",
    mimeType: "image/jpeg",
    buffer: Buffer.from("these are my notes, not a photo"),
  });
  await page.getByRole("button", { name: "Save avatar" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Use a JPEG, PNG, WebP or GIF image." })).toBeVisible();
  await expect(page.locator(".user-menu-button img")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Upload avatar" })).toBeVisible();
});
