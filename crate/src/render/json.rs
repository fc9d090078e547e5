//! The report as JSON: the serde model, field by field, with the verdict's words (`culprit`,
//! `narrative`, `evidence`) written by [`super::verdict`] at serialisation time, so the JSON
//! keys outside checks read keep their meaning while the model holds no prose.

use super::verdict::{self, Words};
use crate::report::Report;
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// `culprit` as the JSON has always had it.
#[derive(serde::Serialize)]
struct CulpritJson<'a> {
    function: &'a str,
    module: &'a Option<String>,
    reason: &'a str,
    reason_zh: &'a str,
    confidence: crate::analysis::model::Confidence,
}

#[derive(serde::Serialize)]
struct NarrativeJson<'a> {
    en: &'a str,
    zh: &'a str,
    next_steps_en: Vec<&'a str>,
    next_steps_zh: Vec<&'a str>,
}

#[derive(serde::Serialize)]
struct EvidenceJson<'a> {
    source: &'a str,
    en: &'a str,
    zh: &'a str,
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let words: Option<Words> = verdict::words(self);
        let culprit = self.culprit().zip(words.as_ref()).map(|(c, w)| {
            let reason = w.reason.as_ref();
            CulpritJson {
                function: &c.function,
                module: &c.module,
                reason: reason.map_or("", |r| r.en.as_str()),
                reason_zh: reason.map_or("", |r| r.zh.as_str()),
                confidence: c.confidence,
            }
        });
        let narrative = words.as_ref().map(|w| NarrativeJson {
            en: &w.narrative.en,
            zh: &w.narrative.zh,
            next_steps_en: w.next_steps.iter().map(|s| s.en.as_str()).collect(),
            next_steps_zh: w.next_steps.iter().map(|s| s.zh.as_str()).collect(),
        });
        let evidence: Vec<EvidenceJson> = words
            .as_ref()
            .map(|w| {
                w.evidence
                    .iter()
                    .map(|(source, b)| EvidenceJson {
                        source,
                        en: &b.en,
                        zh: &b.zh,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut st = ser.serialize_struct("Report", 26)?;
        st.serialize_field("tool", &self.tool)?;
        st.serialize_field("dump", &self.dump)?;
        st.serialize_field("kernel", &self.kernel)?;
        st.serialize_field("crash_time", &self.crash_time)?;
        st.serialize_field("crash_time_utc", &self.crash_time_utc)?;
        st.serialize_field("cpus", &self.cpus)?;
        st.serialize_field("panic", &self.panic)?;
        st.serialize_field("log", &self.log)?;
        st.serialize_field("modules", &self.modules)?;
        st.serialize_field("sys", &self.sys)?;
        st.serialize_field("backtrace", &self.backtrace)?;
        st.serialize_field("cpu_traces", &self.cpu_traces)?;
        st.serialize_field("fault", &self.fault)?;
        st.serialize_field("culprit", &culprit)?;
        st.serialize_field("narrative", &narrative)?;
        st.serialize_field("evidence", &evidence)?;
        st.serialize_field("verdict", &self.verdict)?;
        st.serialize_field("disassembly", &self.disassembly)?;
        st.serialize_field("bucket", &self.bucket)?;
        st.serialize_field("oops", &self.oops)?;
        st.serialize_field("warnings", &self.warnings)?;
        st.serialize_field("partial", &self.partial)?;
        if !self.missing.is_empty() {
            st.serialize_field("missing", &self.missing)?;
        }
        if !self.debuginfo.is_empty() {
            st.serialize_field("debuginfo", &self.debuginfo)?;
        }
        if !self.pending.is_empty() {
            st.serialize_field("pending", &self.pending)?;
        }
        st.end()
    }
}
