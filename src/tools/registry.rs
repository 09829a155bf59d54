//! The set of tools known to the gateway.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    Calculator, CurrentTime, FetchPage, HttpRequest, MemorySearch, MemoryWrite, ProfileUpdate,
    Tool, WebSearch,
};
use crate::config::tools::ToolsConfig;
use crate::memory::embed::Embedders;
use crate::store::Store;

/// Tools by name. Registered tools are discoverable; only those whose
/// [`Tool::available`] is true are offered to models.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in tools. `http` is the client for model-chosen URLs and
    /// should be [`crate::net::guarded_client`] built with
    /// `config.allow_private_urls`; the search backend gets its own client.
    pub fn builtin(config: &ToolsConfig, http: reqwest::Client) -> Self {
        // The search backend is operator configuration, not model input, so it
        // may sit on a private address. If a plain client cannot be built we
        // fall back to the guarded one, which is stricter, never looser.
        let search_http = reqwest::Client::builder()
            .timeout(config.fetch.timeout)
            .build()
            .unwrap_or_else(|_| http.clone());
        let mut registry = Self::new();
        let tools: [Arc<dyn Tool>; 8] = [
            Arc::new(CurrentTime),
            Arc::new(Calculator),
            Arc::new(FetchPage::new(config, http.clone())),
            Arc::new(HttpRequest::new(config, http)),
            Arc::new(WebSearch::new(config, search_http)),
            // Declared for discovery and skill validation; `with_memory` binds them to a store.
            Arc::new(MemorySearch::default()),
            Arc::new(MemoryWrite::default()),
            Arc::new(ProfileUpdate::default()),
        ];
        for tool in tools {
            registry.register(tool);
        }
        registry
    }

    /// Binds the memory tools (`memory_search`, `memory_write`, `profile_update`) to
    /// `store`, which makes them available; `memory_search` ranks with `embedders` (hybrid).
    pub fn with_memory(mut self, store: &Store, embedders: Embedders) -> Self {
        let tools: [Arc<dyn Tool>; 3] = [
            Arc::new(MemorySearch::new(store.clone(), embedders)),
            Arc::new(MemoryWrite::new(store.clone())),
            Arc::new(ProfileUpdate::new(store.clone())),
        ];
        for tool in tools {
            self.register(tool);
        }
        self
    }

    /// Adds a tool, replacing any tool of the same name.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.name().to_string(), tool);
    }

    /// The tool called `name`, offered or not.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.tools.get(name).cloned()
    }

    /// Whether a tool of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// Every registered tool, by name.
    pub fn list(&self) -> Vec<Arc<dyn Tool>> {
        self.tools.values().cloned().collect()
    }

    /// Whether `name` is registered and may be offered to a model now.
    pub fn offered(&self, name: &str) -> bool {
        self.tools.get(name).is_some_and(|t| t.available())
    }
}
