#!/usr/bin/env bash
# Build the PostgreSQL 15 image the Molecule scenarios run, from Debian packages only (no image registry):
# Debian bookworm from its mirror (debootstrap --variant=minbase) with postgresql-15 (pg_stat_statements is part
# of it), postgresql-15-pgtap and postgresql-15-plpgsql-check, imported into podman with entrypoint.sh.
# A no-op when the image exists and was built from this recipe (this file and entrypoint.sh): the recipe's
# hash is the image's label, so a changed recipe rebuilds it and an unchanged one never does.
#
#   bash tools/postgres_image/build.sh [IMAGE]     (default localhost/hotdash/supabase-postgres:15; needs root)
#   DEBIAN_MIRROR=http://... to use another mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-localhost/hotdash/supabase-postgres:15}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
label=org.hotdash.image-recipe
recipe=$(cat "$here/build.sh" "$here/entrypoint.sh" | sha256sum | cut -c1-16)

built_recipe() { podman image inspect --format "{{ index .Labels \"$label\" }}" "$image" 2>/dev/null || true; }

# Several checkouts may run setup at once: one builds, the others wait and find the image.
exec 9>"${TMPDIR:-/tmp}/hotdash-postgres-image.lock"
flock 9
if [ "$(built_recipe)" = "$recipe" ]; then
  exit 0
fi

echo "postgres image: building $image from Debian bookworm ($mirror)"
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/hotdash-postgres-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
debootstrap --variant=minbase --include=postgresql-15,postgresql-15-pgtap,postgresql-15-plpgsql-check \
  bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  echo "postgres image: debootstrap failed (mirror $mirror; set DEBIAN_MIRROR to use another)" >&2
  exit 1
}
fetched=$((SECONDS - start))
# The package's own cluster (/etc/postgresql/15/main) is not used: the entry point creates PGDATA on first start.
chroot "$rootfs" pg_dropcluster 15 main 2>/dev/null || true
chroot "$rootfs" install -d -o postgres -g postgres -m 2775 /run/postgresql
chroot "$rootfs" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
tar -C "$rootfs" -c . | podman import \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change 'USER postgres' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'STOPSIGNAL SIGINT' \
  --change 'EXPOSE 5432' \
  --change "LABEL $label=$recipe" \
  - "$image" >/dev/null 2>"$work/import.log" || { cat "$work/import.log" >&2; exit 1; }
# The image this recipe replaces, if any, is now untagged: drop it unless a container still uses it.
podman image prune -f --filter "label=$label" >/dev/null 2>&1 || true
echo "postgres image: built $image in $((SECONDS - start)) s (debootstrap $fetched s)"
