#!/usr/bin/env python3
"""Fetch a Debian kernel (image extracted, not installed) and the headers to build modules for it.

    kernels.py KREL            -> prints the kernel root dir (boot/vmlinuz-KREL, lib/modules/KREL)
                                  and the headers dir, one per line

bookworm kernels (6.1.0-*): image .deb downloaded with apt-get and extracted into
    $CACHE/_kernels/KREL/ ; headers installed with apt-get (linux-headers-KREL, /usr/src).
bullseye kernels (5.10.0-*): a private apt sources list (deb.debian.org bullseye + bullseye-security)
    under $CACHE/_apt/bullseye with its own lists/cache dirs (the host's apt setup is not touched);
    image + headers + common headers + linux-kbuild-5.10 are downloaded and extracted into
    $CACHE/_kernels/KREL/, and the headers' Makefile is pointed at the extracted common tree.
With LAB_DBG=1 the -dbg package (vmlinux with DWARF) is fetched and extracted too.
"""
import glob, os, subprocess, sys

CACHE = os.path.expanduser(os.environ.get('CRASHLENS_LAB_CACHE') or '~/.cache/crashlens/lab')


def sh(cmd, **kw):
    print('+', ' '.join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def bullseye_apt_opts():
    b = os.path.join(CACHE, '_apt', 'bullseye')
    for d in ('lists/partial', 'cache/archives/partial'):
        os.makedirs(os.path.join(b, d), exist_ok=True)
    src = os.path.join(b, 'sources.list')
    kr = '/usr/share/keyrings/debian-archive-keyring.gpg'
    with open(src, 'w') as f:
        f.write(f'deb [signed-by={kr}] http://deb.debian.org/debian bullseye main\n'
                f'deb [signed-by={kr}] http://deb.debian.org/debian-security bullseye-security main\n')
    opts = ['-o', f'Dir::Etc::SourceList={src}', '-o', 'Dir::Etc::SourceParts=/dev/null',
            '-o', f'Dir::State::Lists={b}/lists', '-o', f'Dir::Cache={b}/cache',
            '-o', 'Dir::State::status=/dev/null', '-o', 'APT::Sandbox::User=root']
    if not glob.glob(os.path.join(b, 'lists', '*Packages*')):
        sh(['apt-get', '-q'] + opts + ['update'], stdout=sys.stderr)
    return opts


def download(pkgs, opts, dest):
    os.makedirs(dest, exist_ok=True)
    cmd = ['apt-get', '-q', '-o', 'APT::Sandbox::User=root'] + opts + ['download'] + pkgs
    try:
        sh(cmd, cwd=dest, stdout=sys.stderr)
    except subprocess.CalledProcessError:      # stale package lists on a fresh machine: update, retry once
        sh(['apt-get', '-q'] + opts + ['update'], stdout=sys.stderr)
        sh(cmd, cwd=dest, stdout=sys.stderr)
    debs = []
    for p in pkgs:
        m = sorted(glob.glob(os.path.join(dest, p.replace('+', '?') + '_*.deb')))
        if not m:
            raise SystemExit(f'download of {p} produced no .deb in {dest}')
        debs.append(m[-1])
    return debs


def ensure(krel):
    root = os.path.join(CACHE, '_kernels', krel)
    done = os.path.join(root, '.done')
    bullseye = krel.startswith('5.10.')
    dbg = os.environ.get('LAB_DBG') == '1'
    if bullseye:
        hdr = os.path.join(root, 'usr/src', f'linux-headers-{krel}')
    else:
        hdr = f'/usr/src/linux-headers-{krel}'
    want_dbg = dbg and not os.path.exists(os.path.join(root, '.dbg-done'))
    if os.path.exists(done) and os.path.isdir(hdr) and not want_dbg:
        return root, hdr
    debdir = os.path.join(CACHE, '_debs')
    if bullseye:
        opts = bullseye_apt_opts()
        flavor_common = krel.rsplit('-', 2)[0]          # 5.10.0-32
        pkgs = [f'linux-image-{krel}-unsigned', f'linux-headers-{krel}',
                f'linux-headers-{flavor_common}-common', 'linux-kbuild-5.10']
    else:
        opts = []
        pkgs = [f'linux-image-{krel}-unsigned']
        if not os.path.isdir(hdr):
            inst = ['apt-get', 'install', '-y', '-q', f'linux-headers-{krel}']
            env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
            try:
                sh(inst, stdout=sys.stderr, env=env)
            except subprocess.CalledProcessError:
                sh(['apt-get', '-q', 'update'], stdout=sys.stderr)
                sh(inst, stdout=sys.stderr, env=env)
    if os.path.exists(done):
        pkgs = []                               # only the -dbg package is missing
    if want_dbg:
        pkgs.append(f'linux-image-{krel}-dbg')
    if pkgs:
        os.makedirs(root, exist_ok=True)
        for deb in download(pkgs, opts, debdir):
            sh(['dpkg-deb', '-x', deb, root])
    if bullseye:
        mk = os.path.join(hdr, 'Makefile')
        txt = open(mk).read()
        if 'include /usr/src/' in txt:
            open(mk, 'w').write(txt.replace('include /usr/src/', f'include {root}/usr/src/'))
    for p in (os.path.join(root, 'boot', f'vmlinuz-{krel}'), os.path.join(root, 'lib/modules', krel), hdr):
        if not os.path.exists(p):
            raise SystemExit(f'missing after extraction: {p}')
    open(done, 'w').write('ok\n')
    if want_dbg:
        if not os.path.exists(os.path.join(root, 'usr/lib/debug/boot', f'vmlinux-{krel}')):
            raise SystemExit(f'no vmlinux-{krel} in the -dbg package')
        open(os.path.join(root, '.dbg-done'), 'w').write('ok\n')
    return root, hdr


if __name__ == '__main__':
    r, h = ensure(sys.argv[1])
    print(r)
    print(h)
