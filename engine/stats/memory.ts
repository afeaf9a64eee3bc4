/**
 * Kernel memory spent on conntrack entries, the way the kernel spends it (reference §9): the nf_conntrack
 * SLUB cache (whole slabs, not objects), one kmalloc-128 extension blob per entry when acct/timestamp/events
 * are on, and the bucket array of the global hash table. Geometry comes from a preset, from SLUB's own
 * sizing rules (calculate_order), or from a copy of the target's /proc/slabinfo.
 */

export const PAGE_SIZE_DEFAULT = 4096;
/** SLUB's default slub_max_order (PAGE_ALLOC_COSTLY_ORDER). */
export const SLUB_MAX_ORDER_DEFAULT = 3;
/** MAX_OBJS_PER_PAGE in mm/slub.c (objects are counted in 15 bits). */
const MAX_OBJS_PER_PAGE = 32767;
/** NF_CT_EXT_PREALLOC: ct->ext is krealloc'ed with at least 128 bytes ⇒ one kmalloc-128 object. */
export const NF_CT_EXT_PREALLOC = 128;
/** sizeof(struct hlist_nulls_head) on 64-bit: one pointer per bucket. */
export const HASH_BUCKET_BYTES = 8;

/** One kmem_cache's geometry, as /proc/slabinfo shows it. */
export interface SlabGeometry {
  /** Cache name ("nf_conntrack", "kmalloc-128"). */
  readonly name: string;
  /** sizeof the object (object_size); equal to stride when only the slabinfo is known. */
  readonly objectSize: number;
  /** Bytes per object in the slab (slabinfo "objsize", SLUB s->size). */
  readonly stride: number;
  readonly objsPerSlab: number;
  readonly pagesPerSlab: number;
  readonly pageSize: number;
  /** pagesPerSlab * pageSize. */
  readonly slabBytes: number;
  /** Where the numbers come from (preset name, "calculate_order(...)", "slabinfo:<file>"). */
  readonly source: string;
}

/** fls(): 1-based index of the highest set bit, 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** get_order(): smallest order with (pageSize << order) >= bytes. */
export function getOrder(bytes: number, pageSize = PAGE_SIZE_DEFAULT): number {
  let order = 0;
  while (pageSize * 2 ** order < bytes) order++;
  return order;
}

export interface SlubParams {
  /** num_present_cpus() of the target. */
  cpus: number;
  pageSize?: number;
  /** slub_min_objects boot parameter (0 = derive from CPUs). */
  minObjects?: number;
  /** slub_min_order boot parameter. */
  minOrder?: number;
  /** slub_max_order boot parameter. */
  maxOrder?: number;
}

/** calc_slab_order(): smallest order in [minOrder, maxOrder] whose leftover is <= slab/fraction. */
function calcSlabOrder(
  size: number,
  minOrder: number,
  maxOrder: number,
  fraction: number,
  page: number,
): number {
  let order = minOrder;
  for (; order <= maxOrder; order++) {
    const slab = page * 2 ** order;
    if (slab % size <= Math.floor(slab / fraction)) break;
  }
  return order;
}

/** calculate_order() (mm/slub.c, 6.8+ form): the page order of one slab for objects of `size` bytes. */
export function calculateOrder(size: number, p: SlubParams): number {
  const page = p.pageSize ?? PAGE_SIZE_DEFAULT;
  const maxOrder = p.maxOrder ?? SLUB_MAX_ORDER_DEFAULT;
  let minObjects = p.minObjects ?? 0;
  if (minObjects === 0) {
    // nr_cpu_ids fallback for <= 1 present CPU is the same number here.
    minObjects = 4 * (fls(Math.max(1, p.cpus)) + 1);
  }
  const maxObjects = Math.max(Math.floor((page * 2 ** maxOrder) / size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = Math.max(p.minOrder ?? 0, getOrder(minObjects * size, page));
  if (Math.floor((page * 2 ** minOrder) / size) > MAX_OBJS_PER_PAGE) {
    return getOrder(size * MAX_OBJS_PER_PAGE, page) - 1;
  }
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minOrder, maxOrder, fraction, page);
    if (order <= maxOrder) return order;
  }
  return getOrder(size, page);
}

/**
 * Object stride for a cache created with SLAB_HWCACHE_ALIGN (calculate_alignment + calculate_sizes):
 * the free pointer of a SLAB_TYPESAFE_BY_RCU cache sits after the object, then the size is rounded to the
 * alignment (the cache line, halved while the object fits in half of it).
 */
export function slubStride(
  objectSize: number,
  opts: { cacheLine?: number; typesafeByRcu?: boolean } = {},
): number {
  let align = opts.cacheLine ?? 64;
  while (objectSize <= align / 2) align /= 2;
  align = Math.max(align, 8);
  const size = objectSize + (opts.typesafeByRcu ? 8 : 0);
  return Math.ceil(size / align) * align;
}

/** Geometry SLUB gives a cache of `stride`-byte objects on a host with `cpus` present CPUs. */
export function slubGeometry(name: string, objectSize: number, stride: number, p: SlubParams): SlabGeometry {
  const page = p.pageSize ?? PAGE_SIZE_DEFAULT;
  const order = calculateOrder(stride, p);
  const slabBytes = page * 2 ** order;
  return {
    name,
    objectSize,
    stride,
    objsPerSlab: Math.floor(slabBytes / stride),
    pagesPerSlab: 2 ** order,
    pageSize: page,
    slabBytes,
    source: `calculate_order(size=${stride}, cpus=${p.cpus}, page=${page})`,
  };
}

/** Geometry of the nf_conntrack cache for sizeof(struct nf_conn) = objectSize (stride from alignment rules). */
export function conntrackGeometry(objectSize: number, p: SlubParams): SlabGeometry {
  const stride = slubStride(objectSize, { typesafeByRcu: true });
  return slubGeometry("nf_conntrack", objectSize, stride, p);
}

/** Geometries backed by a source. */
export const SLAB_PRESETS = {
  /** This machine: Linux 6.18, x86_64, 2 CPUs (kernel-oracle/slab-ground-truth.md, /proc/slabinfo). */
  "6.18": {
    name: "nf_conntrack",
    objectSize: 248,
    stride: 256,
    objsPerSlab: 16,
    pagesPerSlab: 1,
    pageSize: 4096,
    slabBytes: 4096,
    source: "preset 6.18 (measured: object_size 248, slab_size 256, 16 per 4 KiB slab, 2 CPUs)",
  },
  /** The project's seed assumption (reference §9.5 seed formula): 304-byte objects, 13 per 4 KiB page. */
  seed: {
    name: "nf_conntrack",
    objectSize: 304,
    stride: 304,
    objsPerSlab: 13,
    pagesPerSlab: 1,
    pageSize: 4096,
    slabBytes: 4096,
    source: "preset seed (304-byte objects, 13 per 4 KiB page)",
  },
} as const satisfies Record<string, SlabGeometry>;
export type SlabPresetName = keyof typeof SLAB_PRESETS;

/** An input error with where it happened (returned, never thrown). */
export class SlabinfoError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly message: string,
  ) {}
  toString(): string {
    return `${this.file}: line ${this.line}: ${this.message}`;
  }
}

/**
 * Reads one cache's line of /proc/slabinfo (version 2.1):
 * `name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ... : slabdata ...`.
 */
export function parseSlabinfo(
  text: string,
  file: string,
  cache = "nf_conntrack",
  pageSize = PAGE_SIZE_DEFAULT,
): SlabGeometry | SlabinfoError {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f[0] !== cache) continue;
    const nums = f.slice(1, 6).map((s) => Number(s));
    if (nums.length < 5 || nums.some((n) => !Number.isInteger(n) || n < 0)) {
      return new SlabinfoError(file, i + 1, `malformed ${cache} line: "${lines[i]!.trim()}"`);
    }
    const [, , objsize, objperslab, pagesperslab] = nums as [number, number, number, number, number];
    if (objsize === 0 || objperslab === 0 || pagesperslab === 0) {
      return new SlabinfoError(file, i + 1, `${cache} line has a zero objsize/objperslab/pagesperslab`);
    }
    return {
      name: cache,
      objectSize: objsize,
      stride: objsize,
      objsPerSlab: objperslab,
      pagesPerSlab: pagesperslab,
      pageSize,
      slabBytes: pagesperslab * pageSize,
      source: `slabinfo:${file}`,
    };
  }
  return new SlabinfoError(
    file,
    0,
    `no "${cache}" line (is nf_conntrack loaded on the host it was copied from?)`,
  );
}

/** Whether entries carry a ct->ext blob (reference §9.3): acct=1, timestamp=1, events=1 (or 2 with a listener). */
export function hasExtension(sysctl: {
  nf_conntrack_acct: number;
  nf_conntrack_timestamp: number;
  nf_conntrack_events: number;
  eventListener?: boolean;
}): boolean {
  return (
    sysctl.nf_conntrack_acct !== 0 ||
    sysctl.nf_conntrack_timestamp !== 0 ||
    sysctl.nf_conntrack_events === 1 ||
    (sysctl.nf_conntrack_events === 2 && sysctl.eventListener === true)
  );
}

export interface MemoryBreakdown {
  entries: number;
  slabBytes: number;
  extBytes: number;
  hashBytes: number;
  totalBytes: number;
  /** §9.5 seed formula with the seed preset, shown beside for comparison. */
  seedBytes: number;
}

/** The memory model for one target: nf_conntrack geometry, extension on/off, kmalloc-128 geometry. */
export class MemoryModel {
  readonly geometry: SlabGeometry;
  readonly ext: boolean;
  readonly extGeometry: SlabGeometry;

  constructor(geometry: SlabGeometry, opts: { ext?: boolean; cpus?: number } = {}) {
    this.geometry = geometry;
    this.ext = opts.ext ?? false;
    const p = { cpus: opts.cpus ?? 2, pageSize: geometry.pageSize };
    this.extGeometry = slubGeometry("kmalloc-128", NF_CT_EXT_PREALLOC, NF_CT_EXT_PREALLOC, p);
  }

  /** nf_conntrack cache bytes for N live objects in a fresh cache: whole slabs. */
  slabBytes(n: number): number {
    return Math.ceil(n / this.geometry.objsPerSlab) * this.geometry.slabBytes;
  }

  /** kmalloc-128 bytes for N extension blobs (0 when no extension is allocated). */
  extBytes(n: number): number {
    if (!this.ext) return 0;
    return Math.ceil(n / this.extGeometry.objsPerSlab) * this.extGeometry.slabBytes;
  }

  /** The bucket array: one hlist_nulls_head per bucket (kvcalloc'ed once, independent of N). */
  hashBytes(buckets: number): number {
    return buckets * HASH_BUCKET_BYTES;
  }

  /** §9.5 seed formula with the seed preset geometry: ceil(N/13) x 4096 + buckets x 8. */
  seedBytes(n: number, buckets: number): number {
    const s = SLAB_PRESETS.seed;
    return Math.ceil(n / s.objsPerSlab) * s.slabBytes + buckets * HASH_BUCKET_BYTES;
  }

  totalBytes(n: number, buckets: number): number {
    return this.slabBytes(n) + this.extBytes(n) + this.hashBytes(buckets);
  }

  breakdown(n: number, buckets: number): MemoryBreakdown {
    const slabBytes = this.slabBytes(n);
    const extBytes = this.extBytes(n);
    const hashBytes = this.hashBytes(buckets);
    return {
      entries: n,
      slabBytes,
      extBytes,
      hashBytes,
      totalBytes: slabBytes + extBytes + hashBytes,
      seedBytes: this.seedBytes(n, buckets),
    };
  }

  /** The /proc/slabinfo line this cache would show for N objects in a fresh, grow-only cache. */
  slabinfoLine(n: number): string {
    const g = this.geometry;
    const slabs = Math.ceil(n / g.objsPerSlab);
    const objs = slabs * g.objsPerSlab; // SLUB shows per-CPU/full slabs' objects as active
    return (
      `${g.name.padEnd(17)} ${String(objs).padStart(6)} ${String(objs).padStart(6)} ${String(g.stride).padStart(6)} ` +
      `${String(g.objsPerSlab).padStart(4)} ${String(g.pagesPerSlab).padStart(4)} : tunables    0    0    0 : ` +
      `slabdata ${String(slabs).padStart(6)} ${String(slabs).padStart(6)}      0`
    );
  }
}

/** Resolves `--slab` (preset name) / `--slabinfo FILE` text / `--object-size` + `--cpus` into a geometry. */
export function resolveGeometry(opts: {
  preset?: string;
  slabinfoText?: string;
  slabinfoFile?: string;
  objectSize?: number;
  cpus?: number;
  pageSize?: number;
}): SlabGeometry | SlabinfoError | string {
  if (opts.slabinfoText !== undefined) {
    return parseSlabinfo(opts.slabinfoText, opts.slabinfoFile ?? "slabinfo", "nf_conntrack", opts.pageSize);
  }
  if (opts.objectSize !== undefined) {
    if (!Number.isInteger(opts.objectSize) || opts.objectSize <= 0)
      return `bad object size ${opts.objectSize}`;
    return conntrackGeometry(opts.objectSize, { cpus: opts.cpus ?? 2, pageSize: opts.pageSize ?? 4096 });
  }
  const name = opts.preset ?? "6.18";
  if (!(name in SLAB_PRESETS))
    return `unknown slab preset "${name}" (known: ${Object.keys(SLAB_PRESETS).join(", ")})`;
  const preset: SlabGeometry = SLAB_PRESETS[name as SlabPresetName];
  if (opts.cpus === undefined) return preset;
  // Same object on a host with a different CPU count: SLUB may pick another slab order.
  const g = slubGeometry(preset.name, preset.objectSize, preset.stride, {
    cpus: opts.cpus,
    pageSize: preset.pageSize,
  });
  return { ...g, source: `preset ${name} object, ${g.source}` };
}
