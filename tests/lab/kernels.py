#!/usr/bin/env python3
"""Fetch a Debian kernel (image extracted, not installed) and the headers to build modules for it.

    kernels.py KREL            -> prints the kernel root dir (boot/vmlinuz-KREL, lib/modules/KREL)
                                  and the headers dir, one per line

bookworm kernels (6.1.0-*, the cloud flavour and the generic one, 6.1.0-56-amd64, which has
CONFIG_X86_MCE for the machine-check scenario): image .deb downloaded with apt-get and extracted into
    $CACHE/_kernels/KREL/ ; headers installed with apt-get (linux-headers-KREL, /usr/src).
bullseye kernels (5.10.0-*): a private apt sources list (deb.debian.org bullseye + bullseye-security)
    under $CACHE/_apt/bullseye with its own lists/cache dirs (the host's apt setup is not touched);
    image + headers + common headers + linux-kbuild-5.10 are downloaded and extracted into
    $CACHE/_kernels/KREL/, and the headers' Makefile is pointed at the extracted common tree.
trixie / trixie-backports / sid / experimental kernels (6.12.*+deb13, 6.19.*, 7.*; KREL with "+deb1"):
    a private apt sources list of those four suites under $CACHE/_apt/newer. The packaging is read
    from the archive, not assumed from the version: where `linux-binary-KREL` exists (the 6.19+
    backports and sid's 7.x) the image is in it and the modules in `linux-modules-KREL`; otherwise
    `linux-image-KREL-unsigned` holds both (trixie's 6.12). Both put them under usr/lib/modules/KREL/
    (merged /usr); boot/vmlinuz-KREL and lib/modules are linked to them. The headers' own Depends
    name their common-headers and linux-kbuild packages and the compiler (`gcc-N-for-host`).
    The module must be built with that gcc: GCC 14's options (-fmin-function-alignment=16) are
    unknown to bookworm's gcc 12, and trixie's/sid's gcc cannot run on a bookworm host. So when the
    host's gcc major differs, the module is built in a debootstrapped chroot of the suite that
    ships gcc-N (trixie for gcc-14, sid for gcc-16): $CACHE/_chroot/<suite>/ with gcc-N, make,
    pahole (module BTF) and libelf-dev; the headers are extracted into that chroot
    (see build_cmd()).
With LAB_DBG=1 the -dbg package (vmlinux with DWARF) is fetched and extracted too.
"""
import glob, json, os, re, shutil, subprocess, sys

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


NEWER_SUITES = ('trixie', 'trixie-backports', 'sid', 'experimental')


def newer_apt_opts():
    """Private apt configuration for Debian's newer suites (lists under $CACHE/_apt/newer)."""
    b = os.path.join(CACHE, '_apt', 'newer')
    for d in ('lists/partial', 'cache/archives/partial'):
        os.makedirs(os.path.join(b, d), exist_ok=True)
    src = os.path.join(b, 'sources.list')
    kr = '/usr/share/keyrings/debian-archive-keyring.gpg'
    with open(src, 'w') as f:
        for suite in NEWER_SUITES:
            f.write(f'deb [signed-by={kr}] http://deb.debian.org/debian {suite} main\n')
    opts = ['-o', f'Dir::Etc::SourceList={src}', '-o', 'Dir::Etc::SourceParts=/dev/null',
            '-o', f'Dir::State::Lists={b}/lists', '-o', f'Dir::Cache={b}/cache',
            '-o', 'Dir::State::status=/dev/null', '-o', 'APT::Sandbox::User=root']
    if not glob.glob(os.path.join(b, 'lists', '*Packages*')):
        sh(['apt-get', '-q'] + opts + ['update'], stdout=sys.stderr)
    return opts


def is_newer(krel):
    return '+deb1' in krel


def apt_show(pkg, opts):
    """The `apt-cache show` fields of pkg's candidate version, or None if the lists lack it."""
    r = subprocess.run(['apt-cache'] + opts + ['show', '--no-all-versions', pkg],
                       capture_output=True, text=True)
    if r.returncode or not r.stdout.strip():
        return None
    fields = {}
    for line in r.stdout.splitlines():
        if ':' in line and not line.startswith(' '):
            k, v = line.split(':', 1)
            fields[k] = v.strip()
    return fields


def newer_packages(krel, opts):
    """(image packages, header packages, gcc major) for a trixie/backports/sid kernel."""
    if apt_show(f'linux-binary-{krel}', opts):
        image = [f'linux-binary-{krel}', f'linux-modules-{krel}']
    else:
        image = [f'linux-image-{krel}-unsigned']
    h = apt_show(f'linux-headers-{krel}', opts)
    if not h:
        raise SystemExit(f'no linux-headers-{krel} in {", ".join(NEWER_SUITES)}')
    deps = [d.split()[0] for d in h.get('Depends', '').split(',') if d.strip()]
    hdrs = [f'linux-headers-{krel}'] + [d for d in deps if re.match(r'linux-(headers-.*-common|kbuild-)', d)]
    gcc = next((re.match(r'gcc-(\d+)', d).group(1) for d in deps if re.match(r'gcc-\d+', d)), None)
    return image, hdrs, gcc


def host_gcc_major():
    r = subprocess.run(['gcc', '-dumpversion'], capture_output=True, text=True)
    return r.stdout.strip().split('.')[0]


def chroot_for(gcc, opts):
    """A debootstrapped build chroot of the suite that ships gcc-GCC (trixie first, then sid)."""
    suite = None
    for cand in ('trixie', 'sid'):
        r = subprocess.run(['apt-cache'] + opts + ['madison', f'gcc-{gcc}'], capture_output=True, text=True)
        if any(f' {cand}/main ' in l or f'debian {cand}/' in l for l in r.stdout.splitlines()):
            suite = cand
            break
    if not suite:
        raise SystemExit(f'no suite of {NEWER_SUITES} ships gcc-{gcc}')
    root = os.path.join(CACHE, '_chroot', suite)
    if not os.path.exists(os.path.join(root, '.done')):
        if not shutil.which('debootstrap'):
            sh(['apt-get', 'install', '-y', '-q', 'debootstrap'], stdout=sys.stderr,
               env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
        tmp = root + '.tmp'
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.dirname(root), exist_ok=True)
        sh(['debootstrap', '--variant=minbase', f'--include=gcc-{gcc},make,libc6-dev,libelf-dev,pahole,xz-utils',
            suite, tmp, 'http://deb.debian.org/debian'], stdout=sys.stderr)
        open(os.path.join(tmp, '.done'), 'w').write(f'gcc-{gcc}\n')
        os.rename(tmp, root)
    return root


def build_cmd(krel, hdr):
    """How to build a module for krel: (chroot or None, KDIR as seen there, CC, make prefix).
    The chroot's build runs in a private mount namespace with /proc (objtool reads it)."""
    meta = os.path.join(CACHE, '_kernels', krel, '.build.json')
    if os.path.exists(meta):
        m = json.load(open(meta))
        if m.get('chroot'):
            c = m['chroot']
            return c, f'/usr/src/linux-headers-{krel}', m['cc'], \
                ['unshare', '-m', '--fork', 'sh', '-c', f'mount -t proc proc {c}/proc && exec chroot {c} "$@"', 'sh']
    return None, hdr, 'gcc', []


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
    newer = is_newer(krel)
    dbg = os.environ.get('LAB_DBG') == '1'
    if newer:
        return ensure_newer(krel, root, done, dbg)
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


def ensure_newer(krel, root, done, dbg):
    """A trixie / trixie-backports / sid / experimental kernel (see the module docstring)."""
    meta = os.path.join(root, '.build.json')
    if os.path.exists(done) and os.path.exists(meta) and not (dbg and not os.path.exists(os.path.join(root, '.dbg-done'))):
        m = json.load(open(meta))
        return root, m['hdr']
    opts = newer_apt_opts()
    image, hdrs, gcc = newer_packages(krel, opts)
    debdir = os.path.join(CACHE, '_debs')
    os.makedirs(root, exist_ok=True)
    pkgs = image + hdrs + ([f'linux-image-{krel}-dbg'] if dbg else [])
    debs = download(pkgs, opts, debdir)
    for deb in debs:
        sh(['dpkg-deb', '-x', deb, root])
    # merged /usr: the image and modules are under usr/lib/modules/KREL/
    mods = os.path.join(root, 'usr/lib/modules', krel)
    if not os.path.exists(os.path.join(root, 'lib')) and os.path.isdir(os.path.join(root, 'usr/lib')):
        os.symlink('usr/lib', os.path.join(root, 'lib'))
    os.makedirs(os.path.join(root, 'boot'), exist_ok=True)
    vmlinuz = os.path.join(root, 'boot', f'vmlinuz-{krel}')
    if not os.path.exists(vmlinuz) and os.path.exists(os.path.join(mods, 'vmlinuz')):
        os.symlink(f'../usr/lib/modules/{krel}/vmlinuz', vmlinuz)
    info = {'gcc': gcc, 'host_gcc': host_gcc_major(), 'image_packages': image, 'header_packages': hdrs}
    if gcc and gcc != info['host_gcc']:
        c = chroot_for(gcc, opts)
        for deb in debs[len(image):len(image) + len(hdrs)]:
            sh(['dpkg-deb', '-x', deb, c])
        info.update(chroot=c, cc=f'x86_64-linux-gnu-gcc-{gcc}', hdr=os.path.join(c, 'usr/src', f'linux-headers-{krel}'))
    else:
        hdr = os.path.join(root, 'usr/src', f'linux-headers-{krel}')
        for mk in glob.glob(os.path.join(hdr, 'Makefile')):
            txt = open(mk).read()
            open(mk, 'w').write(txt.replace('include /usr/src/', f'include {root}/usr/src/')
                                .replace('KBUILD_OUTPUT=/usr/src/', f'KBUILD_OUTPUT={root}/usr/src/'))
        info.update(hdr=hdr)
    for p in (vmlinuz, os.path.join(root, 'lib/modules', krel), info['hdr']):
        if not os.path.exists(p):
            raise SystemExit(f'missing after extraction: {p}')
    json.dump(info, open(meta, 'w'), indent=1)
    open(done, 'w').write('ok\n')
    if dbg:
        open(os.path.join(root, '.dbg-done'), 'w').write('ok\n')
    return root, info['hdr']


if __name__ == '__main__':
    r, h = ensure(sys.argv[1])
    print(r)
    print(h)
