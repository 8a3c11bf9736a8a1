//! Operations on a log that stays open and shared: config changes and a clean close in place.
//!
//! The broker keeps each `Log` behind a mutex inside a shared partition, so it cannot hand the
//! log over by value to [`Log::close`]; `close_in_place` does the same work through `&mut self`.

use crate::checkpoint::write_clean_shutdown;
use crate::config::LogConfig;
use crate::error::LogError;
use crate::log::Log;

impl Log {
    /// Applies new settings (IncrementalAlterConfigs). They take effect on the next append, roll
    /// or retention pass; existing segments are not rewritten.
    pub fn set_config(&mut self, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        self.producers
            .set_limits(config.max_producers, config.producer_id_expiration_ms);
        self.config = config;
        Ok(())
    }

    /// Flushes everything and writes the clean-shutdown marker. The caller must not append
    /// afterwards (the broker calls this only once its listener and connections have stopped).
    pub fn close_in_place(&mut self) -> Result<(), LogError> {
        self.flush()?;
        self.write_producer_snapshot(true)?;
        let marked = write_clean_shutdown(&*self.storage, &self.dir);
        self.fail_on_io(marked)
    }
}
