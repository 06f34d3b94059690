import { AddressRepository } from './addresses.js';
import { openDatabase, type Db } from './database.js';
import { ImageRepository } from './images.js';
import { KernelRepository } from './kernels.js';
import { PublishedPortRepository } from './published-ports.js';
import { VmRepository } from './vms.js';

/** The daemon's one handle on SQLite: one repository per table. */
export class Store {
  readonly vms: VmRepository;
  readonly images: ImageRepository;
  readonly kernels: KernelRepository;
  readonly addresses: AddressRepository;
  readonly publishedPorts: PublishedPortRepository;

  private constructor(readonly db: Db) {
    this.vms = new VmRepository(db);
    this.images = new ImageRepository(db);
    this.kernels = new KernelRepository(db);
    this.addresses = new AddressRepository(db);
    this.publishedPorts = new PublishedPortRepository(db);
  }

  static open(path: string): Store {
    return new Store(openDatabase(path));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
