//! A per-test database: a SQLite file in a temp dir, or a fresh PostgreSQL database when
//! `ASTRA_TEST_DATABASE_URL` is set (dropped again when the test ends).

/// A per-test database, dropped afterwards on PostgreSQL.
pub struct TestDb {
    pub url: Option<String>,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: tempfile::TempDir,
    pub data_dir: std::path::PathBuf,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().to_path_buf();
        let Ok(admin_url) = std::env::var("ASTRA_TEST_DATABASE_URL") else {
            return Self {
                url: None,
                admin_url: None,
                name: None,
                _dir: dir,
                data_dir,
            };
        };
        let name = format!("astra_t_{}", uuid::Uuid::now_v7().simple());
        let pool = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("ASTRA_TEST_DATABASE_URL must point at a reachable PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Self {
            url: Some(url),
            admin_url: Some(admin_url),
            name: Some(name),
            _dir: dir,
            data_dir,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(admin), Some(name)) = (self.admin_url.clone(), self.name.clone()) else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}
