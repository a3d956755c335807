// The rows of the Remotes view, one class per kind. Commands get them as arguments (a right-click,
// an inline button), so they live here rather than in the tree that makes them.
import type * as vscode from 'vscode';
import type { Remote } from '../core/config';
import { location } from '../core/listing';

export class RemoteNode {
  readonly kind = 'remote';
  readonly parent = undefined;
  constructor(readonly remote: Remote) {}
  get id(): string {
    return `${this.remote.name}:`;
  }
  get location(): string {
    return `${this.remote.name}:`;
  }
}

export class PathNode {
  constructor(
    readonly parent: RemoteNode | PathNode,
    readonly remote: string,
    /** Path below the remote's root: "bucket/folder/file". */
    readonly path: string,
    readonly kind: 'bucket' | 'folder' | 'file',
    /** Bytes, for a file; a listing that finds another size updates it (see RemotesTree's `intern`). */
    public size = -1,
  ) {}
  /**
   * The location, with a "/" after a folder's: an object `foo` can sit next to the prefix `foo/`,
   * and each row needs its own id. A bucket has no such twin (a bucket remote's top holds only buckets).
   */
  get id(): string {
    return this.kind === 'folder' ? `${this.location}/` : this.location;
  }
  get location(): string {
    return location(this.remote, this.path);
  }
  get name(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }
}

/** "Load more…", "No matches", or an error with its action. */
export class MessageNode {
  readonly kind = 'message';
  constructor(
    readonly parent: RemoteNode | PathNode,
    readonly label: string,
    readonly command?: vscode.Command,
    readonly icon = 'info',
    readonly tooltip?: string,
  ) {}
  get id(): string {
    return `${this.parent.id}\u0000${this.label}`;
  }
}

/**
 * "Model versions": the folders of a live mount that match rclone.versionPattern, under its row;
 * or, in copy mode (`local`), "Local copies": the whole copies in the profile's copy root.
 */
export class VersionsNode {
  readonly kind = 'versions';
  constructor(
    readonly parent: PathNode,
    /** The mount point, or the copy root. */
    readonly mountPoint: string,
    readonly local = false,
  ) {}
  get id(): string {
    return `${this.parent.id}\u0000versions`;
  }
}

/** One model version: a folder of the mount the workspace link can point at. */
export class VersionNode {
  readonly kind = 'version';
  constructor(
    readonly parent: VersionsNode,
    readonly name: string,
    /** Its local path in the mount, or the local copy's folder. */
    readonly path: string,
    readonly linked: boolean,
    /** A local copy's size. */
    readonly bytes?: number,
  ) {}
  get id(): string {
    return `${this.parent.id}\u0000${this.name}`;
  }
}

export type Node = RemoteNode | PathNode | MessageNode | VersionsNode | VersionNode;
/** A row with children: a remote, a bucket or a folder. */
export type Folder = RemoteNode | PathNode;

/** The node as a folder, if it is one (commands get any row, or nothing from the palette). */
export function folderOf(n: unknown): Folder | undefined {
  return n instanceof RemoteNode || (n instanceof PathNode && n.kind !== 'file') ? n : undefined;
}

/** Backends whose top level is buckets. */
export function isBucketRemote(node: RemoteNode | Remote): boolean {
  return ['s3', 'gcs', 'b2', 'azureblob', 'swift', 'oos', 'qingstor'].includes(
    (node instanceof RemoteNode ? node.remote : node).type,
  );
}
