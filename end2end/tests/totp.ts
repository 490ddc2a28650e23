import { createHmac } from "node:crypto";
import { PNG } from "pngjs";
import jsQR from "jsqr";

/**
 * An authenticator app of our own for the tests: RFC 6238 codes computed with Node's
 * crypto, independently of the server's implementation.
 */
export class Authenticator {
  readonly secret: Buffer;
  readonly digits: number;
  readonly period: number;

  constructor(readonly uri: string) {
    const url = new URL(uri);
    if (url.protocol !== "otpauth:" || url.host !== "totp") {
      throw new Error(`not a TOTP URI: ${uri}`);
    }
    const params = url.searchParams;
    const algorithm = params.get("algorithm") ?? "SHA1";
    if (algorithm !== "SHA1") throw new Error(`unexpected algorithm ${algorithm}`);
    this.secret = base32Decode(params.get("secret") ?? "");
    this.digits = Number(params.get("digits") ?? 6);
    this.period = Number(params.get("period") ?? 30);
  }

  /** The step (30-second window) at `when`. */
  step(when = Date.now()): number {
    return Math.floor(when / 1000 / this.period);
  }

  private lastUsed = -Infinity;

  /**
   * A code the server will take as new: the current step's, or the next step's when this
   * authenticator already handed that one out (the server accepts one step either side and
   * each step once). Waits for the clock when both were used.
   */
  async fresh(): Promise<string> {
    for (;;) {
      const now = this.step();
      const step = Math.max(now, this.lastUsed + 1);
      if (step <= now + 1) {
        this.lastUsed = step;
        return this.code(step);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** The code the app shows at `step`. */
  code(step = this.step()): string {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step));
    const mac = createHmac("sha1", this.secret).update(counter).digest();
    const offset = mac[mac.length - 1] & 0x0f;
    const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** this.digits;
    return value.toString().padStart(this.digits, "0");
  }
}

function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** Reads a QR code from a PNG screenshot, as a phone's camera would. */
export function decodeQr(png: Buffer): string | null {
  const image = PNG.sync.read(png);
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length);
  return jsQR(pixels, image.width, image.height)?.data ?? null;
}
