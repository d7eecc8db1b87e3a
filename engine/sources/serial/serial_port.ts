/**
 * A serial port (a tty) opened through libc with Deno FFI: raw 8N1 at a chosen baud, reads and
 * writes that never block. Only this module needs `--allow-ffi`, and only once a port is opened.
 *
 * Linux x86_64 / aarch64 with glibc (`libc.so.6`); the constants and the `struct termios` layout
 * below are those of that ABI (checked against `<termios.h>` with gcc and against Python's
 * `termios` module on the build machine).
 * @module
 */
import { abortableSleep } from "../../core/abortable_sleep.ts";

/** Speed constants of Linux's `<asm-generic/termbits.h>` (`B9600` = 0o15, `B921600` = 0o10007). */
const BAUD_CODES: ReadonlyMap<number, number> = new Map([
  [1200, 0o11],
  [2400, 0o13],
  [4800, 0o14],
  [9600, 0o15],
  [19200, 0o16],
  [38400, 0o17],
  [57600, 0o10001],
  [115200, 0o10002],
  [230400, 0o10003],
  [460800, 0o10004],
  [500000, 0o10005],
  [576000, 0o10006],
  [921600, 0o10007],
]);

/** The baud rates a port can be opened at. */
export const BAUD_RATES: readonly number[] = [...BAUD_CODES.keys()];

// open(2) flags (Linux x86_64/aarch64 values).
const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
// errno values.
const EINTR = 4;
const EAGAIN = 11;
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  13: "EACCES",
  16: "EBUSY",
  19: "ENODEV",
  20: "ENOTDIR",
  22: "EINVAL",
  25: "ENOTTY",
};

// struct termios (glibc, NCCS = 32): c_iflag@0, c_oflag@4, c_cflag@8, c_lflag@12, c_line@16,
// c_cc[32]@17, (3 bytes padding), c_ispeed@52, c_ospeed@56; sizeof = 60.
const TERMIOS_SIZE = 60;
const C_IFLAG = 0;
const C_OFLAG = 4;
const C_CFLAG = 8;
const C_LFLAG = 12;
const C_CC = 17;
const VTIME = 5;
const VMIN = 6;
// c_cflag bits.
const CSIZE = 0o60;
const CS8 = 0o60;
const CSTOPB = 0o100;
const CREAD = 0o200;
const PARENB = 0o400;
const CLOCAL = 0o4000;
const CRTSCTS = 0o20000000000;
const TCSANOW = 0;
const TIOCOUTQ = 0x5411;

const SYMBOLS = {
  // open(2) is variadic; passing the mode as a third fixed argument is the usual, ABI-safe call.
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  tcsetattr: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  cfmakeraw: { parameters: ["buffer"], result: "void" },
  cfsetispeed: { parameters: ["buffer", "u32"], result: "i32" },
  cfsetospeed: { parameters: ["buffer", "u32"], result: "i32" },
  cfgetispeed: { parameters: ["buffer"], result: "u32" },
  cfgetospeed: { parameters: ["buffer"], result: "u32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | undefined;

// Opened on first use, so that importing this module needs no --allow-ffi.
function lib(): Libc {
  return libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
}

function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function cString(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

/** A failed system call on a port; `code` is the errno name (`EIO`, `ENOENT`, …) or `EOF` when
 * the device hung up. */
export class SerialError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SerialError";
  }

  /** The error of the last failed libc call on `path` (reads `errno`). */
  static fromErrno(path: string, call: string, err = errno()): SerialError {
    const p = lib().strerror(err);
    const text = p === null ? `errno ${err}` : new Deno.UnsafePointerView(p).getCString();
    const code = ERRNO_NAMES[err] ?? `errno ${err}`;
    return new SerialError(path, code, `${call} ${JSON.stringify(path)}: ${code} (${text})`);
  }
}

/** Options of {@linkcode SerialPort.open}. */
export interface SerialPortOptions {
  /** Line speed, one of {@linkcode BAUD_RATES}. @default {115200} */
  baud?: number;
}

/** The line settings read back from the device with `tcgetattr`. */
export interface SerialSettings {
  inputBaud: number;
  outputBaud: number;
  /** 8 data bits, no parity, 1 stop bit, no hardware flow control. */
  is8N1: boolean;
  /** No echo, no canonical mode, no signals, no input or output translation. */
  raw: boolean;
  vmin: number;
  vtime: number;
}

/**
 * An open tty in raw 8N1 mode with `O_NONBLOCK`: {@linkcode read} returns at once with what is
 * there (0 bytes when nothing is), {@linkcode write} writes what fits. VMIN = 0, VTIME = 1 (0.1 s)
 * are set too, so that even a blocking read of this port would return periodically.
 */
export class SerialPort {
  #fd: number;

  private constructor(readonly path: string, fd: number, readonly baud: number) {
    this.#fd = fd;
  }

  /**
   * Opens `path` (`O_RDWR | O_NOCTTY | O_NONBLOCK`) and sets raw 8N1 at `baud`. Throws a
   * {@linkcode SerialError} when the path cannot be opened or is not a tty, and a `RangeError`
   * naming an unsupported baud.
   */
  static open(path: string, options: SerialPortOptions = {}): SerialPort {
    const baud = options.baud ?? 115200;
    const code = BAUD_CODES.get(baud);
    if (code === undefined) {
      throw new RangeError(`unsupported baud ${baud}; allowed: ${BAUD_RATES.join(", ")}`);
    }
    const c = lib();
    const fd = c.open(cString(path), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0) throw SerialError.fromErrno(path, "open");
    try {
      const t = new Uint8Array(TERMIOS_SIZE);
      if (c.tcgetattr(fd, t) !== 0) throw SerialError.fromErrno(path, "tcgetattr");
      c.cfmakeraw(t);
      const v = new DataView(t.buffer);
      let cflag = v.getUint32(C_CFLAG, true);
      cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS);
      cflag |= CS8 | CREAD | CLOCAL; // CLOCAL: no modem control lines needed to read
      v.setUint32(C_CFLAG, cflag >>> 0, true);
      t[C_CC + VMIN] = 0;
      t[C_CC + VTIME] = 1;
      if (c.cfsetispeed(t, code) !== 0 || c.cfsetospeed(t, code) !== 0) {
        throw SerialError.fromErrno(path, `cfsetspeed ${baud}`);
      }
      if (c.tcsetattr(fd, TCSANOW, t) !== 0) throw SerialError.fromErrno(path, "tcsetattr");
      const port = new SerialPort(path, fd, baud);
      // tcsetattr succeeds when any one change was applied: read back what the driver took.
      const got = port.settings();
      if (got.inputBaud !== baud || got.outputBaud !== baud || !got.is8N1 || !got.raw) {
        throw new SerialError(
          path,
          "EINVAL",
          `tcsetattr ${JSON.stringify(path)}: driver kept ${
            JSON.stringify(got)
          }, asked ${baud} raw 8N1`,
        );
      }
      return port;
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  /** Whether `path` exists now (`access(F_OK)`; a dangling link counts as gone). */
  static exists(path: string): boolean {
    return lib().access(cString(path), 0) === 0;
  }

  /** Whether the port is still open. */
  get isOpen(): boolean {
    return this.#fd >= 0;
  }

  /**
   * Reads what is available into `buf`; 0 when nothing is. Throws a {@linkcode SerialError} on
   * a read error (`EIO`, `ENXIO`: the device is gone) and with code `EOF` when it hung up.
   */
  read(buf: Uint8Array): number {
    const fd = this.#check();
    const n = Number(lib().read(fd, buf, BigInt(buf.length)));
    if (n > 0) return n;
    if (n === 0) {
      // With O_NONBLOCK a tty with no data answers EAGAIN: 0 means the line was hung up.
      throw new SerialError(this.path, "EOF", `read ${JSON.stringify(this.path)}: hung up`);
    }
    const err = errno();
    if (err === EAGAIN || err === EINTR) return 0;
    throw SerialError.fromErrno(this.path, "read", err);
  }

  /** Writes what fits of `bytes` now; returns the count written (0 when the queue is full). */
  write(bytes: Uint8Array): number {
    const fd = this.#check();
    if (bytes.length === 0) return 0;
    const n = Number(lib().write(fd, bytes, BigInt(bytes.length)));
    if (n >= 0) return n;
    const err = errno();
    if (err === EAGAIN || err === EINTR) return 0;
    throw SerialError.fromErrno(this.path, "write", err);
  }

  /**
   * Writes all of `bytes`, waiting `pollMs` whenever the output queue is full. Resolves with the
   * count written: less than `bytes.length` only when `signal` aborted.
   */
  async writeAll(bytes: Uint8Array, signal?: AbortSignal, pollMs = 2): Promise<number> {
    let off = 0;
    while (off < bytes.length && !signal?.aborted) {
      const n = this.write(bytes.subarray(off));
      off += n;
      if (n === 0) await abortableSleep(pollMs, signal);
    }
    return off;
  }

  /** Bytes written but not yet sent by the driver (`TIOCOUTQ`). */
  outputQueued(): number {
    const fd = this.#check();
    const out = new Int32Array(1);
    if (lib().ioctl(fd, BigInt(TIOCOUTQ), new Uint8Array(out.buffer)) !== 0) {
      throw SerialError.fromErrno(this.path, "ioctl TIOCOUTQ");
    }
    return out[0]!;
  }

  /**
   * Waits until the driver has sent everything written, at most `timeoutMs`; resolves with
   * whether it did. (Not `tcdrain`: that blocks the thread with no timeout.)
   */
  async drain(timeoutMs = 2000, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.outputQueued() > 0) {
      if (Date.now() >= deadline || signal?.aborted) return false;
      await abortableSleep(5, signal);
    }
    return true;
  }

  /** The settings the driver holds now (`tcgetattr`). */
  settings(): SerialSettings {
    const fd = this.#check();
    const c = lib();
    const t = new Uint8Array(TERMIOS_SIZE);
    if (c.tcgetattr(fd, t) !== 0) throw SerialError.fromErrno(this.path, "tcgetattr");
    const v = new DataView(t.buffer);
    const cflag = v.getUint32(C_CFLAG, true);
    const lflag = v.getUint32(C_LFLAG, true);
    const iflag = v.getUint32(C_IFLAG, true);
    const oflag = v.getUint32(C_OFLAG, true);
    const speed = (code: number) => {
      for (const [baud, value] of BAUD_CODES) if (value === code) return baud;
      return -1;
    };
    return {
      inputBaud: speed(c.cfgetispeed(t)),
      outputBaud: speed(c.cfgetospeed(t)),
      is8N1: (cflag & CSIZE) === CS8 && (cflag & (PARENB | CSTOPB | CRTSCTS)) === 0,
      // ECHO 0o10, ICANON 0o2, ISIG 0o1, IEXTEN 0o100000; ICRNL 0o400, IXON 0o2000; OPOST 1.
      raw: (lflag & (0o10 | 0o2 | 0o1 | 0o100000)) === 0 && (iflag & (0o400 | 0o2000)) === 0 &&
        (oflag & 1) === 0,
      vmin: t[C_CC + VMIN]!,
      vtime: t[C_CC + VTIME]!,
    };
  }

  /** Closes the port; closing twice is a no-op. */
  close(): void {
    if (this.#fd < 0) return;
    lib().close(this.#fd);
    this.#fd = -1;
  }

  #check(): number {
    if (this.#fd < 0) throw new SerialError(this.path, "EBADF", `${this.path}: port is closed`);
    return this.#fd;
  }
}
