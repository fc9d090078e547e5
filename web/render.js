// Renders the crashlens report model (the JSON of `crashlens report --format json`) as DOM,
// Markdown and a self-contained HTML file. Pure functions, no network, no storage: used by the
// page (app.js) and the <crash-lens> element.
//
// Known parts of the model get a dedicated view (verdict, summary, backtrace, log, ...); any
// other top-level key the core adds later is shown by the generic renderer, so new analysis
// results appear without touching this file.
'use strict';
(function (global) {
  // ---------------------------------------------------------------- strings
  const STR = {
    en: {
      title: 'crashlens — kernel crash-dump analyzer',
      tagline: 'Linux x86_64 vmcore analysis that runs entirely in this browser tab. The dump never leaves your machine.',
      language: 'Language',
      choose: 'Choose a vmcore…',
      dropHere: 'or drop it anywhere on this page',
      sample: 'Try a sample',
      sampleMissing: 'The sample dump is not part of this build (it comes with the hosted page).',
      dropHereBox: 'or drop it here',
      dropHint: 'vmcores as kdump, makedumpfile or QEMU write them (ELF, kdump-compressed, flattened; several files for a split dump). Optionally add vmlinux, module .ko or System.map files with it. Everything is read locally in a Web Worker; nothing is uploaded.',
      dropLabel: 'Crash dump file',
      cancel: 'Cancel',
      cancelled: 'Analysis cancelled.',
      analyzing: 'Analyzing',
      of: 'of',
      read: 'read',
      phase_loading: 'Loading the analyzer',
      phase_container: 'Reading the dump container',
      phase_kernel: 'Reading kernel memory and log',
      phase_done: 'Building the report',
      phase_reading: 'Reading',
      phase_index: 'Indexing the dump file',
      phase_debuginfo: 'Reading the debug files',
      phase_log: 'Reading the kernel log',
      phase_backtrace: 'Unwinding the crashing CPU and working out the cause',
      phase_cpus: 'Unwinding the other CPUs',
      pending: 'Still being worked out…',
      pendingVerdict: 'Working out the cause from the backtrace, registers and code…',
      exportJson: 'Export JSON',
      exportMd: 'Export Markdown',
      exportHtml: 'Export HTML',
      analyzedIn: 'Analyzed in',
      copy: 'Copy',
      copied: 'Copied',
      verdict: 'Verdict',
      summary: 'Summary',
      evidence: 'Evidence',
      fault: 'Faulting access',
      culprit: 'Probable culprit',
      finding: 'What the dump shows',
      backtrace: 'Backtrace',
      registers: 'Registers',
      disassembly: 'Disassembly',
      log: 'Kernel log',
      modules: 'Modules',
      sys: 'System',
      cpu_traces: 'Backtraces of every CPU',
      bucket: 'Crash bucket',
      warnings: 'Warnings',
      dump: 'Dump file',
      cache: 'Read statistics',
      tool: 'Tool',
      partial: 'This report is partial: some information could not be derived from the dump (see warnings).',
      searchLog: 'Search the log',
      lines: 'lines',
      matches: 'matches',
      onlyOops: 'Crash report only',
      noPanic: 'No crash report was found in the kernel log.',
      confidence: 'confidence',
      errUnknown: 'The analysis failed for an unknown reason.',
      errWorker: 'The analysis worker stopped unexpectedly.',
      errNoWorker: 'This browser cannot run the analysis worker.',
      yes: 'yes', no: 'no',
      more: 'more rows not shown',
      footer: 'crashlens runs locally: no uploads, no analytics, no external resources.',

      // The section index, deep links, copy as text, the console tab.
      sections: 'Sections',
      keysHint: 'Keys: j / k next / previous section, 1–9 a section, / search the log, c console, r report',
      copyText: 'Copy as text',
      copyTextLabel: 'Copy the whole report as text (the CLI’s crashlens report)',
      copiedText: 'Copied the report as text',
      tabReport: 'Report',
      tabConsole: 'Console',
      consoleIntro: 'crash-style commands on this dump (help lists them). Enter runs, ↑ / ↓ history, Tab completes commands and symbols. The output is the CLI’s: crashlens shell.',
      consoleOpening: 'Opening the dump for the console…',
      consoleLabel: 'Console command',
      consoleBusy: 'Running…',
      frameLink: 'Link to this frame',
      textVerdict: 'Verdict from the console log',
      guilty: 'Function at fault',
      oopsTitle: 'Crash title',
      // The landing help (a customer who has only been told "send the vmcore").
      helpTitle: 'Finding the dump',
      help: [
        { h: 'Where kdump writes the vmcore', items: [
          ['RHEL, CentOS, AlmaLinux, Rocky Linux: ', '/var/crash/<host>-<date>/vmcore', ' (the kernel log beside it: vmcore-dmesg.txt)'],
          ['Ubuntu, Debian (kdump-tools): ', '/var/crash/<timestamp>/dump.<timestamp>', ' (the log: dmesg.<timestamp>)'],
          ['SUSE (SLES, openSUSE): ', '/var/crash/<date>-<time>/vmcore'],
          ['Alibaba Cloud Linux, Amazon Linux (the kdump service, as RHEL): ', '/var/crash/<host>-<date>/vmcore'],
          ['Another place? The path is set in ', '/etc/kdump.conf', ' (path), ', '/etc/default/kdump-tools', ' (KDUMP_COREDIR) or ', '/etc/sysconfig/kdump', ' (KDUMP_SAVEDIR).'],
        ] },
        { h: 'Is kdump on?', items: [
          ['RHEL family, Alibaba Cloud Linux, Amazon Linux: ', 'kdumpctl status', ' (or systemctl status kdump)'],
          ['Ubuntu, Debian: ', 'kdump-config show', ' says “ready to kdump”'],
          ['SUSE: ', 'systemctl status kdump'],
          ['Any distribution: ', 'cat /sys/kernel/kexec_crash_loaded', ' prints 1 when a crash kernel is loaded; ', 'grep crashkernel= /proc/cmdline', ' shows the memory reserved for it.'],
        ] },
        { h: 'A smaller file', items: [
          ['', 'makedumpfile -d 31 -c vmcore vmcore.small', ' leaves out free, cache, user-space and zero pages and compresses the rest; the analysis needs none of what it drops.'],
          ['For the next crashes: ', '-d 31', ' in the core_collector line of /etc/kdump.conf (MAKEDUMP_ARGS in /etc/default/kdump-tools).'],
        ] },
        { h: 'vmcore.tar.gz, .xz, .zst', items: [
          ['A compressed archive cannot be read in place: unpack it first, e.g. ', 'tar xzf vmcore.tar.gz', ', ', 'xz -dk vmcore.xz', ', ', 'zstd -d vmcore.zst', '. Dropped here, the page names the command for the file.'],
        ] },
        { h: 'Only vmcore-dmesg.txt?', items: [
          ['kdump saves the kernel log beside the vmcore. Drop it here: the crash report in it gives a verdict from the text alone (the title and the function at fault); the vmcore gives the full analysis.'],
        ] },
      ],
      f: {
        'kernel.release': 'Kernel release', 'kernel.version': 'Kernel version', 'kernel.build_id': 'Build ID',
        'kernel.machine': 'Machine', 'kernel.page_size': 'Page size', 'kernel.kaslr_offset': 'KASLR offset',
        crash_time: 'Crash time', cpus: 'CPUs', 'panic.message': 'Panic', 'panic.panic_string': 'Panic string',
        'panic.title': 'Title', 'panic.type': 'Type', 'panic.cpu': 'CPU', 'panic.pid': 'PID', 'panic.comm': 'Command',
        'panic.taint': 'Taint', 'panic.rip': 'RIP', 'panic.source': 'Source',
        task: 'Crashing task', bucket: 'Crash bucket',
        ip: 'IP', pid: 'PID', cpu: 'CPU', cpus: 'CPUs', cpus_offline: 'CPUs offline', cpu_mhz: 'CPU MHz', comm: 'Command',
        date_text: 'Date', uptime_secs: 'Uptime (s)', phys_base: 'phys_base', file_size: 'File size',
      },
    },
    zh: {
      title: 'crashlens — 内核崩溃转储分析',
      tagline: 'Linux x86_64 vmcore 分析，完全在本浏览器标签页内完成，转储文件不会离开你的机器。',
      language: '语言',
      choose: '选择 vmcore 文件…',
      dropHere: '或直接拖放到本页面任意位置',
      sample: '试用示例 dump',
      sampleMissing: '此版本不包含示例 dump（示例随在线托管的页面提供）。',
      dropHereBox: '或拖放到这里',
      dropHint: '支持 kdump、makedumpfile 和 QEMU 生成的 vmcore（ELF、kdump 压缩格式、flattened 格式；拆分的 dump 可一次选多个文件），也可以同时加入 vmlinux、模块 .ko 或 System.map。所有文件都在本地 Web Worker 中读取，不会上传。',
      dropLabel: '崩溃转储文件',
      cancel: '取消',
      cancelled: '分析已取消。',
      analyzing: '正在分析',
      of: '/',
      read: '已读取',
      phase_loading: '正在加载分析器',
      phase_container: '正在解析转储文件格式',
      phase_kernel: '正在读取内核内存和日志',
      phase_done: '正在生成报告',
      phase_reading: '正在读取',
      phase_index: '正在为转储文件建立索引',
      phase_debuginfo: '正在读取调试信息文件',
      phase_log: '正在读取内核日志',
      phase_backtrace: '正在回溯崩溃 CPU 的调用栈并推断原因',
      phase_cpus: '正在回溯其他 CPU 的调用栈',
      pending: '仍在分析中…',
      pendingVerdict: '正在根据调用栈、寄存器和代码推断原因…',
      exportJson: '导出 JSON',
      exportMd: '导出 Markdown',
      exportHtml: '导出 HTML',
      analyzedIn: '分析耗时',
      copy: '复制',
      copied: '已复制',
      verdict: '结论',
      summary: '概要',
      evidence: '证据链',
      fault: '出错的访存',
      culprit: '可能的肇事者',
      finding: '专项分析',
      backtrace: '调用栈',
      registers: '寄存器',
      disassembly: '反汇编',
      log: '内核日志',
      modules: '模块',
      sys: '系统信息',
      cpu_traces: '所有 CPU 的调用栈',
      bucket: '崩溃分桶 ID',
      warnings: '警告',
      dump: '转储文件',
      cache: '读取统计',
      tool: '工具',
      partial: '报告不完整：部分信息无法从转储中得出（见警告）。',
      searchLog: '搜索日志',
      lines: '行',
      matches: '处匹配',
      onlyOops: '只看崩溃报告',
      noPanic: '内核日志中没有找到崩溃报告。',
      confidence: '置信度',
      errUnknown: '分析失败，原因未知。',
      errWorker: '分析线程意外退出。',
      errNoWorker: '此浏览器无法运行分析线程。',
      yes: '是', no: '否',
      more: '行未显示',
      footer: 'crashlens 在本地运行：不上传、不统计、不加载任何外部资源。',

      sections: '目录',
      keysHint: '快捷键：j / k 下一节 / 上一节，1–9 跳到第几节，/ 搜索日志，c 控制台，r 报告',
      copyText: '复制为文本',
      copyTextLabel: '把整份报告复制为文本（与命令行 crashlens report 相同）',
      copiedText: '已把报告复制为文本',
      tabReport: '报告',
      tabConsole: '控制台',
      consoleIntro: '对这个 dump 执行 crash 风格的命令（help 列出全部命令）。回车执行，↑ / ↓ 翻历史，Tab 补全命令和符号。输出与命令行 crashlens shell 相同。',
      consoleOpening: '正在为控制台打开 dump…',
      consoleLabel: '控制台命令',
      consoleBusy: '正在执行…',
      frameLink: '链接到这一帧',
      textVerdict: '根据控制台日志得出的结论',
      guilty: '出问题的函数',
      oopsTitle: '崩溃标题',
      helpTitle: '找到 dump 文件',
      help: [
        { h: 'kdump 把 vmcore 写在哪里', items: [
          ['RHEL、CentOS、AlmaLinux、Rocky Linux：', '/var/crash/<host>-<date>/vmcore', '（旁边的 vmcore-dmesg.txt 是内核日志）'],
          ['Ubuntu、Debian（kdump-tools）：', '/var/crash/<timestamp>/dump.<timestamp>', '（日志：dmesg.<timestamp>）'],
          ['SUSE（SLES、openSUSE）：', '/var/crash/<date>-<time>/vmcore'],
          ['Alibaba Cloud Linux（阿里云）、Amazon Linux（kdump 服务，与 RHEL 相同）：', '/var/crash/<host>-<date>/vmcore'],
          ['在别的位置？路径由 ', '/etc/kdump.conf', '（path）、', '/etc/default/kdump-tools', '（KDUMP_COREDIR）或 ', '/etc/sysconfig/kdump', '（KDUMP_SAVEDIR）设置。'],
        ] },
        { h: 'kdump 开启了吗？', items: [
          ['RHEL 系、Alibaba Cloud Linux、Amazon Linux：', 'kdumpctl status', '（或 systemctl status kdump）'],
          ['Ubuntu、Debian：', 'kdump-config show', ' 显示 “ready to kdump”'],
          ['SUSE：', 'systemctl status kdump'],
          ['任何发行版：', 'cat /sys/kernel/kexec_crash_loaded', ' 输出 1 表示已加载崩溃内核；', 'grep crashkernel= /proc/cmdline', ' 显示为它预留的内存。'],
        ] },
        { h: '让文件更小', items: [
          ['', 'makedumpfile -d 31 -c vmcore vmcore.small', ' 去掉空闲页、页缓存、用户态页和零页并压缩其余部分；分析用不到被去掉的内容。'],
          ['以后的崩溃：在 /etc/kdump.conf 的 core_collector 行（或 /etc/default/kdump-tools 的 MAKEDUMP_ARGS）中使用 ', '-d 31', '。'],
        ] },
        { h: 'vmcore.tar.gz、.xz、.zst', items: [
          ['压缩包无法直接读取，需要先解压，例如 ', 'tar xzf vmcore.tar.gz', '、', 'xz -dk vmcore.xz', '、', 'zstd -d vmcore.zst', '。拖到这里时，页面会给出该文件对应的解压命令。'],
        ] },
        { h: '只有 vmcore-dmesg.txt？', items: [
          ['kdump 会把内核日志保存在 vmcore 旁边。把它拖到这里：根据其中的崩溃报告，仅凭文本给出结论（崩溃标题和出问题的函数）；完整的分析需要 vmcore。'],
        ] },
      ],
      f: {
        'kernel.release': '内核版本号', 'kernel.version': '内核构建信息', 'kernel.build_id': 'Build ID',
        'kernel.machine': '架构', 'kernel.page_size': '页大小', 'kernel.kaslr_offset': 'KASLR 偏移',
        crash_time: '崩溃时间', cpus: 'CPU 数', 'panic.message': 'Panic 信息', 'panic.panic_string': 'Panic 字符串',
        'panic.title': '标题', 'panic.type': '类型', 'panic.cpu': 'CPU', 'panic.pid': 'PID', 'panic.comm': '进程名',
        'panic.taint': '污染标志', 'panic.rip': 'RIP', 'panic.source': '来源',
        task: '崩溃任务', bucket: '崩溃分桶 ID',
        // Keys of nested objects and table columns (fault, sys, dump, modules, ...).
        address: '地址', instruction: '指令', location: '位置', ip: 'IP', base_register: '基址寄存器',
        base_value: '基址寄存器的值', offset: '偏移', access: '访问类型', argument_index: '参数序号',
        argument_register: '参数寄存器', field: '成员', class: '类别', name: '名称', base: '基址', size: '大小',
        taint: '污染标志', release: '内核版本号', version: '内核构建信息', nodename: '主机名', machine: '架构',
        cpus: 'CPU 数', cpus_offline: '离线 CPU 数', date: '时间戳', date_text: '崩溃时间', date_source: '时间来源',
        uptime_secs: '运行秒数', uptime: '运行时间', load_average: '平均负载', tasks: '任务数',
        memory_bytes: '内存字节数', memory: '内存', cpu_mhz: 'CPU 主频 (MHz)', tainted: '污染标志', panic: 'Panic 信息',
        panic_task: 'Panic 任务', cpu: 'CPU', pid: 'PID', comm: '进程名', warnings: '警告',
        file_name: '文件名', container: '容器格式', format: '格式', description: '描述', file_size: '文件大小',
        codecs: '压缩算法', pages_present: '包含的页', pages_excluded: '被过滤的页', pages_zero: '零页',
        corrections: '已修正的问题', phys_base: 'phys_base', cache: '读取统计', hits: '命中', misses: '未命中',
        bytes_read: '读取字节数', peak_bytes: '峰值缓存', budget: '缓存预算', function: '函数', module: '模块',
        reason: '原因', confidence: '置信度', source: '来源', text: '内容', level: '级别', seq: '序号',
      },
    },
  };

  function lang(l) { return STR[l] ? l : 'en'; }
  function t(l, k) { const s = STR[lang(l)]; return s[k] !== undefined ? s[k] : STR.en[k] !== undefined ? STR.en[k] : k; }
  function fieldLabel(l, path) {
    const f = STR[lang(l)].f;
    if (f[path]) return f[path];
    const last = path.split('.').pop();
    return last.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  }

  // ---------------------------------------------------------------- values
  // JSON.parse that keeps 64-bit kernel addresses exact (BigInt) where the engine gives the
  // source text of numbers (Chromium 114+, Firefox 135+); elsewhere they round.
  function parseReport(text) {
    return JSON.parse(text, function (k, v, ctx) {
      if (typeof v === 'number' && !Number.isSafeInteger(v) && ctx && typeof ctx.source === 'string' && /^-?\d+$/.test(ctx.source)) {
        return BigInt(ctx.source);
      }
      return v;
    });
  }
  // Exact JSON text back (BigInt as a bare number, as the CLI writes it).
  function toJson(v, indent) {
    const marks = [];
    const s = JSON.stringify(v, (k, x) => {
      if (typeof x === 'bigint') { marks.push(x.toString()); return '\u0000BIG' + (marks.length - 1) + '\u0000'; }
      return x;
    }, indent);
    return s.replace(/"\\u0000BIG(\d+)\\u0000"/g, (_, i) => marks[+i]);
  }

  const ADDR_KEY = /(^|_)(address|addr|base|rip|rsp|rbp|sp|ip|pc|offset|value|task|kaslr_offset|phys_base|cr2|cr3|vaddr|paddr|start|end)$/i;
  const SIZE_KEY = /(^|_)(file_size|bytes_read|peak_bytes|budget|bytes)$/i;
  const REG_KEY = /^(r[a-z0-9]{1,3}|e?flags|cs|ss|ds|es|fs|gs|fs_base|gs_base|orig_rax|cr[0-4])$/i;

  function hex(v) {
    if (typeof v === 'bigint') return '0x' + (v < 0n ? '-' + (-v).toString(16) : v.toString(16));
    if (typeof v === 'number' && Number.isInteger(v)) return v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
    return String(v);
  }
  function bytes(n) {
    const x = Number(n);
    if (!isFinite(x)) return String(n);
    if (x < 1024) return x + ' B';
    const u = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = x / 1024, i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return v.toFixed(v < 10 ? 2 : 1) + ' ' + u[i];
  }
  function scalarText(l, key, v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? t(l, 'yes') : t(l, 'no');
    if (typeof v === 'bigint') return hex(v);
    if (typeof v === 'number') {
      if (ADDR_KEY.test(key) || REG_KEY.test(key)) return hex(v);
      if (SIZE_KEY.test(key)) return bytes(v) + (v >= 1024 ? ' (' + v.toLocaleString('en-US') + ')' : '');
      return String(v);
    }
    return String(v);
  }
  function isEmpty(v) {
    return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) ||
      (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => isEmpty(v[k])));
  }
  function get(o, path) { return path.split('.').reduce((a, k) => (a == null ? undefined : a[k]), o); }

  // ---------------------------------------------------------------- DOM helpers
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  function copyButton(l, getText, what) {
    const b = h('button', { type: 'button', class: 'secondary copy', 'aria-label': t(l, 'copy') + ': ' + what, 'data-copy': '' }, t(l, 'copy'));
    b.addEventListener('click', async () => {
      const text = getText();
      let ok = false;
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (_) {
        // No async clipboard (not a secure context, or refused): the selection route.
        const ta = h('textarea', { 'aria-hidden': 'true' }, text);
        ta.style.position = 'fixed'; // CSSOM, which a CSP without 'unsafe-inline' allows
        ta.style.left = '-9999px';
        (b.getRootNode().body || b.parentNode).append(ta);
        ta.select();
        try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
        ta.remove();
        b.focus();
      }
      if (!ok) return;
      b.textContent = t(l, 'copied');
      setTimeout(() => { b.textContent = t(l, 'copy'); }, 1500);
    });
    return b;
  }

  // A section with a heading and a copy button that copies its Markdown.
  // A section's element id, for deep links (#backtrace): the section id itself unless the page
  // already uses that id for something else.
  const RESERVED_IDS = new Set(['drop', 'progress', 'error', 'notice', 'result', 'report', 'lang', 'sample', 'cancel', 'bar',
    'phase', 'bytes', 'timing', 'console', 'help', 'index', 'title', 'in']);
  function sectionElementId(id) { return RESERVED_IDS.has(id) ? 'sec-' + id : id; }

  function section(l, id, titleKey, body, mdText, opts) {
    opts = opts || {};
    const title = t(l, titleKey);
    const head = h('div', { class: 'sec-head' }, h(opts.collapsible ? 'span' : 'h2', { class: 'title', id: 'h-' + id }, title),
      mdText ? copyButton(l, () => mdText, title) : null);
    if (opts.collapsible) {
      const d = h('details', { 'data-section': id, id: sectionElementId(id), open: opts.open !== false }, h('summary', null, head), body);
      return d;
    }
    return h('section', { 'data-section': id, id: sectionElementId(id), 'aria-labelledby': 'h-' + id, class: opts.cls }, head, body);
  }

  // Generic view of any value.
  function genericView(l, key, v, depth) {
    depth = depth || 0;
    if (v === null || v === undefined) return h('span', null, '');
    if (Array.isArray(v)) {
      if (v.length === 0) return h('span', null, '—');
      if (v.every((x) => x === null || typeof x !== 'object')) {
        if (v.length <= 12 && v.every((x) => String(x).length < 40)) return h('span', null, v.map((x) => scalarText(l, key, x)).join(', '));
        return h('ul', { class: 'plain' }, v.map((x) => h('li', null, scalarText(l, key, x))));
      }
      return tableView(l, v);
    }
    if (typeof v === 'object') {
      const dl = h('dl', { class: 'kv' });
      for (const [k, x] of Object.entries(v)) {
        if (isEmpty(x)) continue;
        dl.append(h('dt', null, fieldLabel(l, k)), h('dd', { 'data-field': k }, depth > 3 ? h('code', null, toJson(x)) : genericView(l, k, x, depth + 1)));
      }
      return dl;
    }
    const s = scalarText(l, key, v);
    return (typeof v === 'string' && s.includes('\n')) ? h('pre', { class: 'block' }, s) : h('span', null, s);
  }

  const MAX_ROWS = 5000;
  function tableView(l, rows) {
    const cols = [];
    for (const r of rows.slice(0, 200)) if (r && typeof r === 'object') for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    const used = cols.filter((c) => rows.some((r) => r && !isEmpty(r[c])));
    const tb = h('tbody');
    for (const r of rows.slice(0, MAX_ROWS)) {
      tb.append(h('tr', null, used.map((c) => {
        const x = r ? r[c] : undefined;
        const cell = (x !== null && typeof x === 'object') ? h('code', null, toJson(x)) : scalarText(l, c, x);
        return h('td', { class: typeof x === 'number' || typeof x === 'bigint' ? 'num mono' : undefined }, cell);
      })));
    }
    const wrap = h('div', { class: 'tablewrap' }, h('table', null, h('thead', null, h('tr', null, used.map((c) => h('th', { scope: 'col' }, fieldLabel(l, c))))), tb));
    if (rows.length > MAX_ROWS) wrap.append(h('p', { class: 'notice' }, (rows.length - MAX_ROWS) + ' ' + t(l, 'more')));
    return wrap;
  }

  // ---------------------------------------------------------------- known sections
  // Every text view (verdict, backtrace, registers, disassembly, every CPU, sys, log, modules)
  // is the CLI's text, rendered by the wasm module (`sections(lang)`, see crate/src/render): this
  // file lays it out and adds interaction only.
  const SUMMARY = ['kernel.release', 'kernel.version', 'kernel.build_id', 'kernel.machine', 'crash_time', 'cpus',
    'panic.message', 'panic.panic_string', 'task', 'panic.taint', 'panic.rip', 'panic.type', 'bucket', 'kernel.kaslr_offset', 'kernel.page_size'];

  function summaryValue(r, f) {
    if (f === 'crash_time') return r.crash_time_utc || (r.crash_time != null ? String(r.crash_time) : null);
    if (f === 'cpus') return typeof r.cpus === 'number' ? r.cpus : Array.isArray(r.cpus) ? r.cpus.length : null;
    if (f === 'task') return null;
    return get(r, f);
  }

  function summaryView(l, r) {
    const dl = h('dl', { class: 'kv' });
    for (const f of SUMMARY) {
      if (f === 'task') {
        const p = r.panic || {};
        if (p.cpu == null && p.pid == null && !p.comm) continue;
        const dd = h('dd', { 'data-field': 'task', class: 'mono' },
          'CPU ', h('span', { 'data-field': 'panic.cpu' }, p.cpu != null ? String(p.cpu) : '?'),
          '  PID ', h('span', { 'data-field': 'panic.pid' }, p.pid != null ? String(p.pid) : '?'),
          '  COMMAND "', h('span', { 'data-field': 'panic.comm' }, p.comm || '?'), '"');
        dl.append(h('dt', null, fieldLabel(l, 'task')), dd);
        continue;
      }
      const v = summaryValue(r, f);
      if (isEmpty(v)) continue;
      const mono = /build_id|rip|kaslr|message|panic_string/.test(f);
      dl.append(h('dt', null, fieldLabel(l, f)), h('dd', { 'data-field': f, class: mono ? 'mono' : undefined }, scalarText(l, f.split('.').pop(), v)));
    }
    return dl;
  }

  /** `[{id, text, parts}]` (the wasm module's sections) by id. */
  function textMap(sections) {
    const m = {};
    for (const s of (Array.isArray(sections) ? sections : [])) if (s && s.id) m[s.id] = s;
    return m;
  }
  // A section's copy button gives its text as a Markdown code block.
  const fenced = (text) => '```\n' + text + (text.endsWith('\n') ? '' : '\n') + '```';
  // One span per line, its newline inside, so the <pre>'s text is the CLI's byte for byte.
  function lineSpans(text, cls) {
    const out = [];
    const lines = text.split('\n');
    lines.forEach((s, i) => {
      if (i === lines.length - 1 && s === '') return;
      out.push(h('span', { class: 'log-line' + (cls ? cls(s, i) : '') }, s + (i < lines.length - 1 ? '\n' : '')));
    });
    return out;
  }

  function verdictView(l, sec) {
    if (!sec || !sec.text) return null;
    const parts = Array.isArray(sec.parts) && sec.parts.length ? sec.parts : [{ field: 'verdict.text', text: sec.text }];
    const pre = h('pre', { class: 'block verdict-text', 'data-field': 'verdict' },
      parts.map((p) => h('span', { 'data-field': p.field, class: p.field === 'verdict.headline' || p.field === 'culprit' ? 'headline' : undefined }, p.text)));
    return section(l, 'verdict', 'verdict', pre, fenced(sec.text), { cls: 'verdict' });
  }

  // crash's bt text, one span per line; each frame line (` #3 [ffff...] name at ...`) gets an
  // id for deep links: `backtrace-f3`, and in every CPU's traces `cpu_traces-cpu1-f3` (the CPU
  // from the task's `PID: ... CPU: n` header). The text itself is unchanged.
  function frameSpans(l, id, text) {
    let cpu = null;
    return lineSpans(text).map((span) => {
      const s = span.textContent;
      const head = /^PID:\s+\d+\s+TASK:\s+\S+\s+CPU:\s+(\d+)/.exec(s);
      if (head) cpu = head[1];
      const f = /^\s*#(\d+) /.exec(s);
      if (f) {
        const fid = id === 'backtrace' ? 'backtrace-f' + f[1] : id + (cpu != null ? '-cpu' + cpu : '') + '-f' + f[1];
        span.id = fid;
        span.dataset.frame = f[1];
        span.classList.add('frame');
        span.title = t(l, 'frameLink');
      }
      return span;
    });
  }

  function textSection(l, id, text, r) {
    let body;
    if (id === 'log') body = logView(l, text, r && r.oops);
    else if (id === 'backtrace' || id === 'cpu_traces') body = h('pre', { class: 'block', 'data-field': id }, frameSpans(l, id, text));
    else if (id === 'disassembly') body = h('pre', { class: 'block', 'data-field': id }, lineSpans(text, (s) => (s.startsWith('==>') ? ' oops' : '')));
    else body = h('pre', { class: 'block', 'data-field': id }, text);
    return section(l, id, id, body, fenced(text), { collapsible: true, open: id !== 'cpu_traces' });
  }

  function logView(l, text, oops) {
    const lines = lineSpans(text);
    const from = oops && Number.isInteger(oops.start_line) ? oops.start_line : -1;
    const to = oops && Number.isInteger(oops.end_line) ? oops.end_line : -1;
    const inOops = (i) => i >= from && i < to;
    lines.forEach((span, i) => { if (inOops(i)) span.classList.add('oops'); });
    const pre = h('pre', { class: 'block', 'data-field': 'log', tabindex: '0', 'aria-label': t(l, 'log') });
    const count = h('span', { class: 'count', 'aria-live': 'polite' });
    const input = h('input', { type: 'search', placeholder: t(l, 'searchLog'), 'aria-label': t(l, 'searchLog'), 'data-testid': 'log-search' });
    const only = h('input', { type: 'checkbox', id: 'log-only-oops' });
    function draw() {
      const q = input.value.trim().toLowerCase();
      pre.textContent = '';
      let shown = 0, hits = 0;
      const frag = document.createDocumentFragment();
      lines.forEach((span, i) => {
        const s = span.textContent;
        if (only.checked && !inOops(i)) return;
        if (q && !s.toLowerCase().includes(q)) return;
        if (q) {
          const hit = h('span', { class: span.className });
          const low = s.toLowerCase();
          let at = 0, j;
          while ((j = low.indexOf(q, at)) >= 0) { hit.append(s.slice(at, j), h('mark', null, s.slice(j, j + q.length))); at = j + q.length; hits++; }
          hit.append(s.slice(at));
          frag.append(hit);
        } else frag.append(span);
        shown++;
      });
      pre.append(frag);
      count.textContent = q ? hits + ' ' + t(l, 'matches') : shown + ' ' + t(l, 'lines');
    }
    input.addEventListener('input', draw);
    only.addEventListener('change', draw);
    draw();
    // Start the view at the crash report (a little context above it), not at the boot banner.
    if (from > 0) {
      requestAnimationFrame(() => {
        const el = pre.children[Math.max(0, from - 3)];
        if (el) pre.scrollTop = el.offsetTop - pre.offsetTop;
      });
    }
    return h('div', null, h('div', { class: 'log-tools' }, input, h('label', null, only, ' ' + t(l, 'onlyOops')), count), pre);
  }

  // Model keys drawn elsewhere: in the summary, the verdict text (culprit, narrative, evidence,
  // next steps), the log (the oops's lines are marked there), or the text views.
  const SHOWN_ELSEWHERE = new Set(['tool', 'kernel', 'crash_time', 'crash_time_utc', 'panic', 'narrative', 'culprit', 'partial', 'dump',
    'warnings', 'bucket', 'pending', 'evidence', 'oops', 'cpus',
    // the typed verdict: its words are the verdict section's (Rust's text), not a table of its data
    'verdict']);
  // The text views, in display order; `fault` (a model view) comes first.
  const TEXT_VIEWS = ['finding', 'backtrace', 'registers', 'disassembly', 'cpu_traces', 'sys', 'log', 'modules'];
  const PLACEHOLDER = new Set(['backtrace', 'registers', 'disassembly', 'cpu_traces', 'log']);

  function genericSection(l, key, v) {
    if (isEmpty(v)) return null;
    const titleKey = STR.en[key] !== undefined ? key : fieldLabel(l, key);
    return section(l, key, titleKey, genericView(l, key, v), mdOf(l, key, v), { collapsible: true });
  }

  // While the analysis runs the page shows the report so far: `pending` names the model's keys
  // still being worked out. Those with a section of their own get a placeholder.
  function pendingSet(r) { return new Set(Array.isArray(r.pending) ? r.pending : []); }
  function placeholder(l, id, text) {
    return h('section', { 'data-section': id, 'data-pending': 'true', 'aria-busy': 'true', class: id === 'verdict' ? 'verdict pending' : 'pending' },
      h('div', { class: 'sec-head' }, h('h2', { class: 'title' }, t(l, id))),
      h('p', { class: 'notice' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', text));
  }

  /** The verdict from a console log alone (`tv`: render::oops::TextVerdict in language `l`):
   *  the note saying so, the title and the function at fault, and the `crashlens oops` text. */
  function renderTextVerdict(tv, l) {
    l = lang(l);
    const root = h('div', { class: 'report', lang: l === 'zh' ? 'zh-CN' : 'en', 'data-kind': 'text-verdict' });
    const dl = h('dl', { class: 'kv' },
      h('dt', null, t(l, 'oopsTitle')), h('dd', { 'data-field': 'oops.title', class: 'mono headline' }, tv.title),
      tv.frame ? [h('dt', null, t(l, 'guilty')), h('dd', { 'data-field': 'oops.frame', class: 'mono' }, tv.frame)] : null);
    const body = h('div', null, h('p', { class: 'text-only', 'data-field': 'text-verdict-note', role: 'note' }, tv.note), dl,
      h('pre', { class: 'block', 'data-field': 'oops' }, tv.text));
    root.append(section(l, 'verdict', 'textVerdict', body, fenced(tv.text), { cls: 'verdict text-verdict' }));
    return root;
  }

  /** The whole report as a DOM tree (or the part of it ready so far, see `pending`): `r` the
   *  model, `sections` its text views in language `l` (from the worker). */
  function renderReport(r, l, sections) {
    l = lang(l);
    const tx = textMap(sections);
    const root = h('div', { class: 'report', lang: l === 'zh' ? 'zh-CN' : 'en' });
    const pending = pendingSet(r);
    if (r.partial && !pending.size) root.append(h('p', { class: 'error', role: 'note' }, t(l, 'partial')));
    const v = pending.has('narrative') ? placeholder(l, 'verdict', t(l, 'pendingVerdict')) : verdictView(l, tx.verdict);
    if (v) root.append(v);
    else root.append(h('p', { class: 'notice', 'data-field': 'no-panic' }, t(l, 'noPanic')));
    root.append(section(l, 'summary', 'summary', summaryView(l, r), null));
    const fault = genericSection(l, 'fault', r.fault);
    if (fault) root.append(fault);
    for (const k of TEXT_VIEWS) {
      const waiting = pending.has(k) || (k === 'registers' && pending.has('backtrace'));
      if (waiting) { if (PLACEHOLDER.has(k)) root.append(placeholder(l, k, t(l, 'pending'))); continue; }
      if (tx[k] && tx[k].text) root.append(textSection(l, k, tx[k].text, r));
    }
    for (const k of Object.keys(r)) {
      if (SHOWN_ELSEWHERE.has(k) || TEXT_VIEWS.includes(k) || k === 'fault' || pending.has(k)) continue;
      const s = genericSection(l, k, r[k]);
      if (s) root.append(s);
    }
    if (!isEmpty(r.warnings)) {
      root.append(section(l, 'warnings', 'warnings', h('ul', { class: 'warnings' }, r.warnings.map((w) => h('li', null, w))), r.warnings.map((w) => '- ' + w).join('\n')));
    }
    if (r.dump) root.append(section(l, 'dump', 'dump', genericView(l, 'dump', r.dump), mdOf(l, 'dump', r.dump), { collapsible: true, open: false }));
    if (r.tool) root.append(h('p', { class: 'notice' }, (r.tool.name || 'crashlens') + ' ' + (r.tool.version || '')));
    return root;
  }

  /** Draws `r` into `container` in place of what was there, keeping what the reader set: which
   *  sections are open, the log search and its filter (and their focus). The page draws the
   *  report again as parts arrive and when the language changes. */
  function renderInto(container, r, l, sections) {
    const q = (sel) => container.querySelector(sel);
    const open = new Map(Array.from(container.querySelectorAll('details[data-section]'), (d) => [d.dataset.section, d.open]));
    const search = q('[data-testid="log-search"]');
    const only = q('#log-only-oops');
    const active = container.getRootNode().activeElement;
    const kept = { search: search ? search.value : '', only: !!(only && only.checked), focus: !!search && active === search };
    container.textContent = '';
    container.append(renderReport(r, l, sections));
    for (const d of container.querySelectorAll('details[data-section]')) {
      if (open.has(d.dataset.section)) d.open = open.get(d.dataset.section);
    }
    const search2 = q('[data-testid="log-search"]');
    const only2 = q('#log-only-oops');
    if (search2 && kept.search) { search2.value = kept.search; search2.dispatchEvent(new Event('input')); }
    if (only2 && kept.only) { only2.checked = true; only2.dispatchEvent(new Event('change')); }
    if (search2 && kept.focus) search2.focus();
  }

  // ---------------------------------------------------------------- Markdown of a model value
  // (the copy button of a generic section; the Markdown export is rendered in Rust)
  function mdCell(s) { return String(s).replace(/\|/g, '\\|').replace(/\n/g, ' '); }
  function mdOf(l, key, v, depth) {
    depth = depth || 0;
    if (isEmpty(v)) return '';
    if (Array.isArray(v)) {
      if (v.every((x) => x === null || typeof x !== 'object')) return v.map((x) => '- ' + scalarText(l, key, x)).join('\n');
      const cols = [];
      for (const r of v.slice(0, 200)) if (r && typeof r === 'object') for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
      const used = cols.filter((c) => v.some((r) => r && !isEmpty(r[c])));
      const head = '| ' + used.map((c) => fieldLabel(l, c)).join(' | ') + ' |\n|' + used.map(() => '---').join('|') + '|';
      return head + '\n' + v.map((r) => '| ' + used.map((c) => {
        const x = r ? r[c] : undefined;
        return mdCell(x !== null && typeof x === 'object' ? toJson(x) : scalarText(l, c, x));
      }).join(' | ') + ' |').join('\n');
    }
    if (typeof v === 'object') {
      return Object.entries(v).filter(([, x]) => !isEmpty(x)).map(([k, x]) => {
        if (x !== null && typeof x === 'object') {
          const inner = mdOf(l, k, x, depth + 1);
          return '  '.repeat(depth) + '- **' + fieldLabel(l, k) + '**:\n' + inner.split('\n').map((s) => '  '.repeat(depth + 1) + s).join('\n');
        }
        return '  '.repeat(depth) + '- **' + fieldLabel(l, k) + '**: ' + scalarText(l, k, x);
      }).join('\n');
    }
    return scalarText(l, key, v);
  }

  // ---------------------------------------------------------------- running an analysis
  // The wasm module is compiled once per page (from `wasmUrl`, when the page can fetch it) and
  // handed to every worker; one spare worker is started ahead with it, so the next analysis
  // finds the analyzer instantiated. Without a URL (the single-file build) each worker loads
  // the module it carries.
  let compiled = null;
  function wasmModule(url) {
    if (!url || typeof WebAssembly === 'undefined' || typeof WebAssembly.compileStreaming !== 'function') return Promise.resolve(null);
    if (!compiled) {
      compiled = WebAssembly.compileStreaming(fetch(url)).catch(() => null);
    }
    return compiled;
  }
  let spare = null; // { worker, key }
  function takeWorker(makeWorker, key) {
    if (spare && spare.key === key) { const w = spare.worker; spare = null; return w; }
    return makeWorker();
  }
  /** Starts a worker ahead of the next analysis (the analyzer loaded and warmed in it);
   *  `onReady`, if given, is called when it is. */
  function prepare(makeWorker, wasmUrl, onReady) {
    wasmModule(wasmUrl).then((module) => {
      if (spare && spare.key === makeWorker) return;
      if (spare) spare.worker.terminate();
      try {
        const worker = makeWorker();
        // Until an analysis takes the worker (and its onmessage) it says only that it is warm.
        worker.onmessage = (ev) => { if (ev.data && ev.data.type === 'warmed' && onReady) onReady(); };
        worker.postMessage({ type: 'warm', module });
        spare = { worker, key: makeWorker };
      } catch (_) { spare = null; }
    });
  }

  /**
   * Runs one analysis of a File (or an array of Files: the parts of a split dump) in a worker.
   * `onProgress(p)` gets `{phase, bytes_read, file_size}`; `onPartial({report, json, ms,
   * sections})`, if given, each part of the report as it becomes ready (`sections`: its text
   * views, `{en, zh}`). Returns `{ done, cancel(), sections(lang), render(format, lang) }`:
   * `done` resolves to `{report, json, ms, memory}` or rejects with the analyzer's sentence;
   * after it the worker stays, holding the report, and answers `sections(lang)` (the text
   * views, as `crate::render::sections`) and `render(format, lang)` (`md`, `html`, `text`),
   * each a Promise. cancel() terminates the worker (pending promises never settle).
   */
  function startAnalysis(file, makeWorker, onProgress, l, onPartial, opts) {
    opts = opts || {};
    let w = null;
    let settled = false;
    let stopped = false;
    let nextId = 1;
    const asked = new Map();
    const ready = {}; // the text views that came with the report, by language
    const done = new Promise((resolve, reject) => {
      const fail = (msg) => { if (!settled) { settled = true; stop(); reject(new Error(msg)); } };
      try { w = takeWorker(makeWorker, makeWorker); } catch (e) { fail(t(l, 'errNoWorker') + ' (' + (e && e.message || e) + ')'); return; }
      w.onmessage = (ev) => {
        const m = ev.data;
        if (m.type === 'answer') {
          const a = asked.get(m.id);
          asked.delete(m.id);
          if (a) { if (m.error) a.reject(new Error(m.error)); else a.resolve(m.text); }
          return;
        }
        if (settled) return;
        if (m.type === 'warmed') return;
        if (m.type === 'progress') { if (onProgress) onProgress(m); }
        else if (m.type === 'partial') {
          // A part that cannot be read is only a missed preview: the finished report follows.
          if (onPartial) { try { onPartial({ report: parseReport(m.json), json: m.json, ms: m.ms, sections: JSON.parse(m.sections) }); } catch (_) { /* ignore */ } }
        }
        else if (m.type === 'error') {
          // An archive's error comes in both languages (the page shows the one it speaks).
          if (m.messages && !settled) { settled = true; const e = new Error(m.message); e.messages = m.messages; stop(); reject(e); return; }
          fail(m.message || t(l, 'errUnknown'));
        }
        else if (m.type === 'text') {
          let tv;
          try { tv = JSON.parse(m.json); } catch (e) { fail(t(l, 'errUnknown') + ' (' + e.message + ')'); return; }
          settled = true;
          resolve({ textVerdict: tv, ms: m.ms });
        }
        else if (m.type === 'done') {
          let report;
          try { report = parseReport(m.json); } catch (e) { fail(t(l, 'errUnknown') + ' (' + e.message + ')'); return; }
          if (m.sections && m.lang) { try { ready[m.lang] = JSON.parse(m.sections); } catch (_) { /* asked again */ } }
          settled = true;
          resolve({ report, json: m.json, ms: m.ms, memory: m.memory, reads: m.reads });
        }
      };
      w.onerror = (ev) => { ev.preventDefault(); fail(t(l, 'errWorker') + (ev.message ? ' (' + ev.message + ')' : '')); };
      // The worker starts at once; the analysis when the module compiled once for the page is
      // there (a worker given none loads its own).
      wasmModule(opts.wasmUrl).then((module) => {
        if (stopped || !w) return;
        w.postMessage(Object.assign({ type: 'analyze', module, lang: lang(l) }, Array.isArray(file) ? { files: file } : { file }));
      });
    });
    // The next analysis gets a warm worker, started once this one has finished or is cancelled
    // (loading and warming the analyzer meanwhile would take CPU time from this analysis).
    const next = () => prepare(makeWorker, opts.wasmUrl, opts.onReady);
    done.then(next, next);
    function stop() { stopped = true; if (w) { w.terminate(); w = null; } }
    function ask(msg) {
      return done.then(() => new Promise((resolve, reject) => {
        if (!w) { reject(new Error(t(l, 'errWorker'))); return; }
        const id = nextId++;
        asked.set(id, { resolve, reject });
        w.postMessage(Object.assign({ id }, msg));
      }));
    }
    return {
      done,
      cancel() { const was = settled; settled = true; stop(); if (!was) next(); },
      sections: (lg) => (ready[lang(lg)] ? done.then(() => ready[lang(lg)]) : ask({ type: 'sections', lang: lang(lg) }).then((text) => JSON.parse(text))),
      render: (format, lg) => ask({ type: 'render', format, lang: lang(lg) }),
      // The console over the analysed files: op 'open' (once), 'run' -> {text, error},
      // 'complete' -> [names].
      console: (op, line) => ask({ type: 'console', op, line }).then((text) => (op === 'open' ? null : JSON.parse(text))),
    };
  }

  /** The section index of a rendered report (`container` holds it): one link per section, in
   *  page order, to its deep link (#id). */
  function buildIndex(container, l) {
    const ol = h('ol', { class: 'index-list' });
    for (const sec of container.querySelectorAll('[data-section]')) {
      const title = sec.querySelector('.title');
      if (!title || !sec.id) continue;
      ol.append(h('li', null, h('a', { href: '#' + sec.id, 'data-target': sec.id }, title.textContent)));
    }
    return ol;
  }

  /** Starts a download of `text` as a file (Blob URL; nothing leaves the machine). */
  function download(text, type, name) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.style.display = 'none';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  function exportName(fileName) { return 'crashlens-' + (fileName || 'vmcore').replace(/[^A-Za-z0-9._-]+/g, '_'); }

  global.CrashlensRender = { STR, t, lang, parseReport, toJson, renderReport, renderInto, renderTextVerdict, buildIndex, hex, bytes, h, startAnalysis, prepare, download, exportName, copyButton };
})(typeof self !== 'undefined' ? self : this);
